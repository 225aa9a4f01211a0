//! URL predicates. (stub: being written)
