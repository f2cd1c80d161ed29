//! Atomic storage writes: `ctx.storage.transactionSync(fn)`.
//!
//! workers-rs 0.8.7 wraps SQL but not `transactionSync`, so it is called through `Reflect`. The
//! closure runs synchronously inside one SQLite transaction: if it fails, every write it made is
//! rolled back. (Writes with no `await` between them would also commit together, but without
//! rollback on a failure half-way, which is what a delivery insert + apply needs.)

use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use worker::{SqlStorage, State};

/// Runs `body` inside one storage transaction and returns its value; an `Err` rolls back.
pub fn transaction<T: 'static>(
    state: &State,
    body: impl FnOnce(&SqlStorage) -> worker::Result<T> + 'static,
) -> worker::Result<T> {
    let storage = state.storage();
    let sql = storage.sql();
    let raw: &JsValue = storage.as_raw().as_ref();
    let run = js_sys::Reflect::get(raw, &JsValue::from_str("transactionSync"))?
        .dyn_into::<js_sys::Function>()
        .map_err(|_| worker::Error::RustError("storage.transactionSync is unavailable".into()))?;
    let out: Rc<RefCell<Option<T>>> = Rc::new(RefCell::new(None));
    let slot = out.clone();
    let closure = Closure::once(move || -> Result<JsValue, JsValue> {
        let value = body(&sql).map_err(JsValue::from)?;
        *slot.borrow_mut() = Some(value);
        Ok(JsValue::UNDEFINED)
    });
    run.call1(raw, closure.as_ref().unchecked_ref())
        .map_err(worker::Error::from)?;
    let value = out.borrow_mut().take();
    value.ok_or_else(|| worker::Error::RustError("transaction closure did not run".into()))
}
