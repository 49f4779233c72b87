//! Prints the operations an input file decodes to: `cargo run --example show -- FILE...`
use arbitrary::{Arbitrary, Unstructured};
fn main() {
    for path in std::env::args().skip(1) {
        let data = std::fs::read(&path).unwrap();
        let input = wasmheap_fuzz::Input::arbitrary_take_rest(Unstructured::new(&data));
        match input {
            Ok(input) => {
                println!("{path}: buffer {} bytes, initial end {}", input.buffer_len(), input.initial_end());
                for (i, op) in input.ops.iter().enumerate() {
                    println!("  {i:4} {op:?}");
                }
            }
            Err(e) => println!("{path}: does not decode: {e}"),
        }
    }
}
