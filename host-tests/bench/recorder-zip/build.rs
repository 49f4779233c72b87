// miniz_oxide builds some of its boxed tables (the 64 KiB LZ code buffer among them) on the stack
// before moving them to the heap, so this program needs more than the 8 KiB stack that
// scripts/bench gives every module of this workspace (RUSTFLAGS). A build script's link
// arguments come after RUSTFLAGS' on the linker's command line, and wasm-ld takes the last
// `-z stack-size`. The stack is the program's, not the recorded heap's: the trace is unchanged.
fn main() {
    println!("cargo:rustc-link-arg=-zstack-size=1048576");
}
