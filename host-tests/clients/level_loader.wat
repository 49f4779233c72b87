;; A level loader that lives in a wasmheap instance: everything a level allocates is released at
;; once with `free_to_mark`, whatever it is made of. A client module with no memory of its own.
;;
;; Link it to wasm/wasmheap.wasm under the module name "wasmheap" (see string_builder.wat).
;;
;; A level is a heap block { mark, id, count, table[count] } followed, in the heap, by its
;; `count` entities. Entity i of level `id` is `8 + (id * 7 + i * 13) % 120` bytes, byte k of it
;; `(id * 131 + i * 17 + k) & 255`. Levels nest like the marks they hold: unload the newest first
;; (unloading an older one releases the newer ones too, as `free_to_mark` does).
(module
  (import "wasmheap" "memory" (memory 1))
  (import "wasmheap" "allocate" (func $allocate (param i32) (result i32)))
  (import "wasmheap" "deallocate" (func $deallocate (param i32)))
  (import "wasmheap" "size" (func $size (param i32) (result i32)))
  (import "wasmheap" "free_get_mark" (func $free_get_mark (result i32)))
  (import "wasmheap" "free_to_mark" (func $free_to_mark (param i32)))

  (func $entity_size (param $id i32) (param $i i32) (result i32)
    (i32.add (i32.const 8)
      (i32.rem_u (i32.add (i32.mul (local.get $id) (i32.const 7)) (i32.mul (local.get $i) (i32.const 13)))
        (i32.const 120))))

  (func $entity_byte (param $id i32) (param $i i32) (param $k i32) (result i32)
    (i32.and
      (i32.add (i32.add (i32.mul (local.get $id) (i32.const 131)) (i32.mul (local.get $i) (i32.const 17)))
        (local.get $k))
      (i32.const 255)))

  ;; level_load(id, count) -> level, or 0 when memory runs out: then everything it had allocated
  ;; is released again by `free_to_mark`, and the heap is as before.
  (func (export "level_load") (param $id i32) (param $count i32) (result i32)
    (local $mark i32) (local $level i32) (local $i i32) (local $n i32) (local $e i32)
    (local $k i32) (local $scratch i32)
    (local.set $mark (call $free_get_mark))
    (if (i32.eqz (local.get $mark)) (then (return (i32.const 0))))
    (local.set $level (call $allocate (i32.add (i32.const 12) (i32.shl (local.get $count) (i32.const 2)))))
    (if (i32.eqz (local.get $level)) (then (call $free_to_mark (local.get $mark)) (return (i32.const 0))))
    (i32.store offset=0 (local.get $level) (local.get $mark))
    (i32.store offset=4 (local.get $level) (local.get $id))
    (i32.store offset=8 (local.get $level) (local.get $count))
    (block $done
      (loop $entities
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        ;; a temporary block, freed at once: loading makes garbage, and the heap takes it back
        (local.set $scratch (call $allocate (i32.const 40)))
        (local.set $n (call $entity_size (local.get $id) (local.get $i)))
        (local.set $e (call $allocate (local.get $n)))
        (if (i32.eqz (local.get $e))
          (then (call $free_to_mark (local.get $mark)) (return (i32.const 0))))
        (local.set $k (i32.const 0))
        (loop $bytes
          (i32.store8 (i32.add (local.get $e) (local.get $k))
            (call $entity_byte (local.get $id) (local.get $i) (local.get $k)))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br_if $bytes (i32.lt_u (local.get $k) (local.get $n))))
        (i32.store offset=12
          (i32.add (local.get $level) (i32.shl (local.get $i) (i32.const 2))) (local.get $e))
        (call $deallocate (local.get $scratch))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $entities)))
    (local.get $level))

  ;; level_verify(level) -> 1 when every entity has its size and its bytes, else 0.
  (func (export "level_verify") (param $level i32) (result i32)
    (local $id i32) (local $count i32) (local $i i32) (local $n i32) (local $e i32) (local $k i32)
    (local.set $id (i32.load offset=4 (local.get $level)))
    (local.set $count (i32.load offset=8 (local.get $level)))
    (block $done
      (loop $entities
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $e (i32.load offset=12 (i32.add (local.get $level) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $n (call $entity_size (local.get $id) (local.get $i)))
        (if (i32.ne (call $size (local.get $e)) (local.get $n)) (then (return (i32.const 0))))
        (local.set $k (i32.const 0))
        (loop $bytes
          (if (i32.ne (i32.load8_u (i32.add (local.get $e) (local.get $k)))
                (call $entity_byte (local.get $id) (local.get $i) (local.get $k)))
            (then (return (i32.const 0))))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br_if $bytes (i32.lt_u (local.get $k) (local.get $n))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $entities)))
    (i32.const 1))

  ;; level_entity(level, i) -> the pointer of entity i
  (func (export "level_entity") (param $level i32) (param $i i32) (result i32)
    (i32.load offset=12 (i32.add (local.get $level) (i32.shl (local.get $i) (i32.const 2)))))

  ;; level_unload(level): releases the level and all its entities (and any newer level) at once.
  (func (export "level_unload") (param $level i32)
    (call $free_to_mark (i32.load (local.get $level))))
)
