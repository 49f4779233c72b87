;; The shim of wasm/wasmheap-import-memory.wasm. scripts/build merges it into the core
;; (src/flavors/import_memory.rs, linked with --import-memory -zstack-size=0 --export=__stack_pointer) with
;; wasm-merge, then wasm-opt -Oz inlines these wrappers and removes the core's `__*` exports.
;;
;; It holds the state that cannot live in the host's memory, in two globals: the heap's start (0
;; before `init` succeeds), which every export passes to the core function of the same name, and
;; whether the heap may grow memory, which the core asks for through `__wasmheap_grows`.
(module
  (import "core" "__wasmheap_memory" (memory 0))
  (import "core" "__stack_pointer" (global $sp (mut i32)))
  (import "core" "__wasmheap_init" (func $init (param i32 i32) (result i32)))
  (import "core" "__wasmheap_allocate" (func $allocate (param i32 i32) (result i32)))
  (import "core" "__wasmheap_allocate_aligned" (func $allocate_aligned (param i32 i32 i32) (result i32)))
  (import "core" "__wasmheap_deallocate" (func $deallocate (param i32 i32)))
  (import "core" "__wasmheap_reallocate" (func $reallocate (param i32 i32 i32) (result i32)))
  (import "core" "__wasmheap_size" (func $size (param i32 i32) (result i32)))
  (import "core" "__wasmheap_free_all" (func $free_all (param i32)))
  (import "core" "__wasmheap_free_all_mark" (func $free_all_mark (param i32)))
  (import "core" "__wasmheap_free_get_mark" (func $free_get_mark (param i32) (result i32)))
  (import "core" "__wasmheap_free_to_mark" (func $free_to_mark (param i32 i32)))
  (import "core" "__wasmheap_check" (func $check (param i32) (result i32)))
  (import "core" "__wasmheap_stats" (func $stats (param i32 i32)))
  (import "core" "__wasmheap_discardable" (func $discardable (param i32 i32 i32 i32 i32) (result i32)))
  (import "core" "__wasmheap_malloc" (func $malloc (param i32 i32) (result i32)))
  (import "core" "__wasmheap_realloc" (func $realloc (param i32 i32 i32) (result i32)))
  (import "core" "__wasmheap_calloc" (func $calloc (param i32 i32 i32) (result i32)))
  (import "core" "__wasmheap_posix_memalign" (func $posix_memalign (param i32 i32 i32 i32) (result i32)))
  (import "core" "__wasmheap_cabi_realloc" (func $cabi_realloc (param i32 i32 i32 i32 i32) (result i32)))

  (global $region (mut i32) (i32.const 0))
  (global $grows (mut i32) (i32.const 0))

  ;; The core's memory source asks this when it needs more than the region (cold path).
  (func (export "__wasmheap_grows") (result i32)
    (global.get $grows))

  ;; init(start, end) -> 1 | 0. The region [start, end) of the imported memory becomes the heap's;
  ;; end = 0: from start to the end of memory, growing it as needed (also for the stack, when
  ;; start lies within 4 KiB of the end). Its first 4 KiB (from start
  ;; rounded up to 16) are the core's shadow stack, the heap starts right above. 0 when the region
  ;; is bad (too small, past the end of memory): the heap is then off until a good init.
  ;; Calling init again starts a new, empty heap (blocks of the old one are forgotten).
  (func (export "init") (param $start i32) (param $end i32) (result i32)
    (local $heap i64)
    (global.set $region (i32.const 0))
    (local.set $heap
      (i64.add
        (i64.and (i64.add (i64.extend_i32_u (local.get $start)) (i64.const 15)) (i64.const -16))
        (i64.const 4096)))
    ;; A region that runs to the end of memory may grow it: first for the stack, when `start` (in
    ;; memory) is within 4 KiB of its end (a C program whose data ends there), if memory can grow.
    (if (i32.and
          (i32.and
            (i32.eqz (local.get $end))
            (i64.le_u (i64.extend_i32_u (local.get $start)) (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16))))
          (i64.gt_u (local.get $heap) (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16))))
      (then
        (if (i64.gt_u (local.get $heap) (i64.const 0xFFFFFFF8))
          (then (return (i32.const 0))))
        (if (i32.eq
              (memory.grow
                (i32.sub
                  (i32.wrap_i64 (i64.shr_u (i64.add (local.get $heap) (i64.const 0xFFFF)) (i64.const 16)))
                  (memory.size)))
              (i32.const -1))
          (then (return (i32.const 0))))))
    ;; Refuse before the stack pointer moves: the stack must lie in memory, and the heap's start
    ;; below `end` (the core checks the rest).
    (if (i32.or
          (i64.gt_u (local.get $heap) (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
          (i32.and
            (i32.ne (local.get $end) (i32.const 0))
            (i64.gt_u (local.get $heap) (i64.extend_i32_u (local.get $end)))))
      (then (return (i32.const 0))))
    (global.set $sp (i32.wrap_i64 (local.get $heap)))
    (global.set $grows (i32.eqz (local.get $end)))
    (global.set $region (call $init (i32.wrap_i64 (local.get $heap)) (local.get $end)))
    (i32.ne (global.get $region) (i32.const 0)))

  ;; The raw ABI (src/CONTRACT.md, "The raw ABI"), on the heap of the region.
  (func (export "allocate") (param i32) (result i32)
    (call $allocate (global.get $region) (local.get 0)))
  (func (export "allocate_aligned") (param i32 i32) (result i32)
    (call $allocate_aligned (global.get $region) (local.get 0) (local.get 1)))
  (func (export "deallocate") (param i32)
    (call $deallocate (global.get $region) (local.get 0)))
  (func (export "reallocate") (param i32 i32) (result i32)
    (call $reallocate (global.get $region) (local.get 0) (local.get 1)))
  (func (export "size") (param i32) (result i32)
    (call $size (global.get $region) (local.get 0)))
  (func (export "free_all")
    (call $free_all (global.get $region)))
  (func (export "free_all_mark")
    (call $free_all_mark (global.get $region)))
  (func (export "free_get_mark") (result i32)
    (call $free_get_mark (global.get $region)))
  (func (export "free_to_mark") (param i32)
    (call $free_to_mark (global.get $region) (local.get 0)))
  (func (export "check") (result i32)
    (call $check (global.get $region)))
  (func (export "stats") (param i32)
    (call $stats (global.get $region) (local.get 0)))
  (func (export "discardable") (param i32 i32 i32 i32) (result i32)
    (call $discardable (global.get $region) (local.get 0) (local.get 1) (local.get 2) (local.get 3)))

  ;; The C names, for C programs that import their allocator from this module. malloc, calloc and
  ;; realloc are 16-aligned (alignof(max_align_t)), as C requires.
  (func (export "malloc") (param i32) (result i32)
    (call $malloc (global.get $region) (local.get 0)))
  (func (export "free") (param i32)
    (call $deallocate (global.get $region) (local.get 0)))
  (func (export "realloc") (param i32 i32) (result i32)
    (call $realloc (global.get $region) (local.get 0) (local.get 1)))
  (func (export "calloc") (param i32 i32) (result i32)
    (call $calloc (global.get $region) (local.get 0) (local.get 1)))
  (func (export "aligned_alloc") (param $align i32) (param $size i32) (result i32)
    (call $allocate_aligned (global.get $region) (local.get $size) (local.get $align)))
  (func (export "posix_memalign") (param i32 i32 i32) (result i32)
    (call $posix_memalign (global.get $region) (local.get 0) (local.get 1) (local.get 2)))
  ;; The component model's allocator (the canonical ABI lowers strings and lists through it);
  ;; traps on failure, and before init.
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (call $cabi_realloc (global.get $region) (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
)
