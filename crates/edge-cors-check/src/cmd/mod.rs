//! One module per subcommand.

pub(crate) mod check;
pub(crate) mod import;
pub(crate) mod owners;
pub(crate) mod probe;
pub(crate) mod registry;
pub(crate) mod render;
