;; A string builder that lives in a wasmheap instance: a client module with no memory of its own.
;; It imports the heap's `memory` and its allocator, and grows its buffer with `reallocate`.
;;
;; Link it to wasm/wasmheap.wasm (or any flavor that exports `memory`) under the module name
;; "wasmheap": wasmtime `Linker::instance(.., "wasmheap", heap)`, or in JavaScript
;; `WebAssembly.instantiate(bytes, { wasmheap: heap.exports })`.
;;
;; A builder is a 12-byte heap block { data: ptr, len: u32, spare: u32 }; its text is the block
;; `data`, whose capacity is `size(data)`. Every function returns 0 when memory runs out, and then
;; leaves the builder as it was.
(module
  (import "wasmheap" "memory" (memory 1))
  (import "wasmheap" "allocate" (func $allocate (param i32) (result i32)))
  (import "wasmheap" "reallocate" (func $reallocate (param i32 i32) (result i32)))
  (import "wasmheap" "deallocate" (func $deallocate (param i32)))
  (import "wasmheap" "size" (func $size (param i32) (result i32)))

  ;; sb_new() -> builder (0 when out of memory). The buffer starts at 16 bytes.
  (func $sb_new (export "sb_new") (result i32)
    (local $sb i32) (local $data i32)
    (local.set $sb (call $allocate (i32.const 12)))
    (if (i32.eqz (local.get $sb)) (then (return (i32.const 0))))
    (local.set $data (call $allocate (i32.const 16)))
    (if (i32.eqz (local.get $data))
      (then (call $deallocate (local.get $sb)) (return (i32.const 0))))
    (i32.store offset=0 (local.get $sb) (local.get $data))
    (i32.store offset=4 (local.get $sb) (i32.const 0))
    (i32.store offset=8 (local.get $sb) (i32.const 0))
    (local.get $sb))

  ;; Makes room for `extra` more bytes: doubles the buffer (or more) with `reallocate`.
  ;; Returns 0 when it cannot; the builder is then unchanged (reallocate keeps the old block).
  (func $reserve (param $sb i32) (param $extra i32) (result i32)
    (local $need i32) (local $cap i32) (local $new i32)
    (local.set $need (i32.add (i32.load offset=4 (local.get $sb)) (local.get $extra)))
    ;; a length that wraps is out of memory
    (if (i32.lt_u (local.get $need) (local.get $extra)) (then (return (i32.const 0))))
    (local.set $cap (call $size (i32.load (local.get $sb))))
    (if (i32.le_u (local.get $need) (local.get $cap)) (then (return (i32.const 1))))
    (local.set $cap (i32.shl (local.get $cap) (i32.const 1)))
    (if (i32.lt_u (local.get $cap) (local.get $need)) (then (local.set $cap (local.get $need))))
    (local.set $new (call $reallocate (i32.load (local.get $sb)) (local.get $cap)))
    (if (i32.eqz (local.get $new)) (then (return (i32.const 0))))
    (i32.store offset=8 (local.get $sb) (i32.add (i32.load offset=8 (local.get $sb)) (i32.const 1)))
    (i32.store (local.get $sb) (local.get $new))
    (i32.const 1))

  ;; sb_append(builder, src, n) -> 1 | 0: appends the n bytes at src.
  (func $sb_append (export "sb_append") (param $sb i32) (param $src i32) (param $n i32) (result i32)
    (local $len i32)
    (if (i32.eqz (call $reserve (local.get $sb) (local.get $n))) (then (return (i32.const 0))))
    (local.set $len (i32.load offset=4 (local.get $sb)))
    (memory.copy
      (i32.add (i32.load (local.get $sb)) (local.get $len)) (local.get $src) (local.get $n))
    (i32.store offset=4 (local.get $sb) (i32.add (local.get $len) (local.get $n)))
    (i32.const 1))

  ;; sb_push(builder, byte) -> 1 | 0
  (func $sb_push (export "sb_push") (param $sb i32) (param $byte i32) (result i32)
    (local $len i32)
    (if (i32.eqz (call $reserve (local.get $sb) (i32.const 1))) (then (return (i32.const 0))))
    (local.set $len (i32.load offset=4 (local.get $sb)))
    (i32.store8 (i32.add (i32.load (local.get $sb)) (local.get $len)) (local.get $byte))
    (i32.store offset=4 (local.get $sb) (i32.add (local.get $len) (i32.const 1)))
    (i32.const 1))

  ;; sb_push_u32(builder, n) -> 1 | 0: appends n in decimal.
  (func $sb_push_u32 (export "sb_push_u32") (param $sb i32) (param $n i32) (result i32)
    (local $div i32)
    (local.set $div (i32.const 1))
    (block $done
      (loop $find ;; the largest power of ten <= n (1 for n < 10)
        (br_if $done (i32.lt_u (i32.div_u (local.get $n) (local.get $div)) (i32.const 10)))
        (local.set $div (i32.mul (local.get $div) (i32.const 10)))
        (br $find)))
    (loop $digits
      (if (i32.eqz (call $sb_push (local.get $sb)
            (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $n) (local.get $div)) (i32.const 10)))))
        (then (return (i32.const 0))))
      (local.set $div (i32.div_u (local.get $div) (i32.const 10)))
      (br_if $digits (local.get $div)))
    (i32.const 1))

  ;; sb_ptr / sb_len: where the text is now (it moves when the buffer grows) and its length.
  (func (export "sb_ptr") (param $sb i32) (result i32) (i32.load (local.get $sb)))
  (func (export "sb_len") (param $sb i32) (result i32) (i32.load offset=4 (local.get $sb)))
  ;; sb_grows: how many times `reallocate` grew the buffer.
  (func (export "sb_grows") (param $sb i32) (result i32) (i32.load offset=8 (local.get $sb)))

  ;; sb_finish(builder) -> text: shrinks the buffer to the text (so `size(text)` is its length),
  ;; frees the builder and hands the text over; free it with `deallocate`.
  (func (export "sb_finish") (param $sb i32) (result i32)
    (local $text i32)
    (local.set $text (call $reallocate (i32.load (local.get $sb)) (i32.load offset=4 (local.get $sb))))
    (call $deallocate (local.get $sb))
    (local.get $text))

  ;; str_upper(text) -> changed: upper-cases the ASCII letters of the heap block `text` in place,
  ;; over its `size(text)` bytes (UTF-8 stays valid: bytes of multi-byte characters are >= 0x80).
  ;; Returns how many bytes changed; 0 for a pointer that is not a live block (size 0).
  (func (export "str_upper") (param $text i32) (result i32)
    (local $end i32) (local $c i32) (local $changed i32)
    (local.set $end (i32.add (local.get $text) (call $size (local.get $text))))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $text) (local.get $end)))
        (local.set $c (i32.load8_u (local.get $text)))
        (if (i32.lt_u (i32.sub (local.get $c) (i32.const 97)) (i32.const 26))
          (then
            (i32.store8 (local.get $text) (i32.sub (local.get $c) (i32.const 32)))
            (local.set $changed (i32.add (local.get $changed) (i32.const 1)))))
        (local.set $text (i32.add (local.get $text) (i32.const 1)))
        (br $each)))
    (local.get $changed))

  ;; sb_free(builder): frees the builder and its text.
  (func (export "sb_free") (param $sb i32)
    (call $deallocate (i32.load (local.get $sb)))
    (call $deallocate (local.get $sb)))
)
