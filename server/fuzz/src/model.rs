//! `app/src/model/`: the wire types the server's checking code uses.
#[path = "../../../app/src/model/docs.rs"]
pub mod docs;
