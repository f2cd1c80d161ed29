//! TODO(owner): replace this placeholder.
