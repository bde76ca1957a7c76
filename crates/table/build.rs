//! Declares the `loom` cfg that the loom tests build with (see
//! scripts/loom-table.sh), so that rustc does not warn about it.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(loom)");
}
