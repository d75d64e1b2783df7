//! The reach-cache artifact: building, validating, verification mapping (SEMANTICS §6).
//! (to be written)
