//! Every integration test, in one binary (one link, one run): each file is a module
//! and runs the real `pktlab` binary on captures in `captures/`. Tests that need what
//! this machine may lack (root, a tool, `../shared/corpus`) skip through
//! [`common::skip`], which fails instead under `CI=true`.

mod common;

mod cli;
mod conns;
mod corpus;
mod demo;
mod filter;
mod gen;
mod live;
mod loss;
mod netns;
mod peers;
mod robustness;
mod segments;
mod subnet;
