//! `server/src/queue/`: the catalogue, type annotations, permissions and the plan binder.
#[path = "../../src/queue/annotation.rs"]
pub mod annotation;
#[path = "../../src/queue/catalog.rs"]
pub mod catalog;
#[path = "../../src/queue/permissions.rs"]
pub mod permissions;
#[path = "../../src/queue/validate.rs"]
pub mod validate;
