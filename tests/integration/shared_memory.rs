//! The shared Memory on PostgreSQL: against a real server the tests start themselves
//! (`common::postgres`), one database per test; `goal` processes in separate project
//! directories stand in for hosts.

use crate::common;

use common::postgres::Database;

#[test]
fn the_test_server_gives_each_test_a_database_of_its_own() {
    let first = Database::new();
    let second = Database::new();
    assert_ne!(first.url, second.url);
    first
        .client()
        .batch_execute("CREATE TABLE only_here (x integer)")
        .unwrap();
    let tables = second
        .client()
        .query("SELECT 1 FROM pg_tables WHERE tablename = 'only_here'", &[])
        .unwrap();
    assert!(tables.is_empty());
}
