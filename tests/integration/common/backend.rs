//! The Memory's two backends, so that one test checks a behaviour on both: the embedded sled
//! database, and a database of its own on the throwaway PostgreSQL server.
//!
//! ```ignore
//! fn values_persist(backend: &Backend) {
//!     let project = Project::new().memory(backend).goalfile("");
//!     project.goal(&["memory", "set", "a", "1"]).expect(0, "", "");
//! }
//! on_both_backends!(values_persist);
//! ```

use std::path::Path;

use goal::memory::Location;

use super::postgres::Database;

pub enum Backend {
    Sled,
    Postgres(Database),
}

impl Backend {
    pub fn sled() -> Backend {
        Backend::Sled
    }

    pub fn postgres() -> Backend {
        Backend::Postgres(Database::new())
    }

    /// What names this Memory in `goal`'s environment: nothing for sled (the default).
    pub fn environment(&self) -> Vec<(&'static str, String)> {
        match self {
            Backend::Sled => Vec::new(),
            Backend::Postgres(database) => vec![("GOAL_MEMORY", database.url.clone())],
        }
    }

    /// The Memory of the project in `dir`, for a test standing in for a running `goal`.
    pub fn location(&self, dir: &Path) -> Location {
        match self {
            Backend::Sled => Location::beside(dir, None),
            Backend::Postgres(database) => Location::beside(dir, Some(database.url.clone().into())),
        }
    }

    pub fn is_sled(&self) -> bool {
        matches!(self, Backend::Sled)
    }
}

/// For each function of a `&Backend` named, a test on sled (`MODULE::sled::NAME`) and one on
/// PostgreSQL (`MODULE::postgres::NAME`).
#[macro_export]
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sled {
            $(
                #[test]
                fn $test() {
                    super::$test(&$crate::common::backend::Backend::sled())
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $test() {
                    super::$test(&$crate::common::backend::Backend::postgres())
                }
            )*
        }
    };
}
