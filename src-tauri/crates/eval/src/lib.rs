//! Eval runs (in progress).
