//! placeholder until the expression engine lands
