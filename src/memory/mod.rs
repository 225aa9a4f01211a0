//! The persistent Memory. (stub: being written)
