;; The shim of wasm/wasmheap-shared.wasm. scripts/build merges it into the core of the import-memory
;; flavor (src/flavors/import_memory.rs, the same cargo build) with wasm-merge, makes the imported
;; memory shared (env.memory, shared, maximum 65536 pages: any shared memory fits), and wasm-opt -Oz
;; inlines what it can. Every instance of the module is one thread's way into one heap: every
;; export takes the heap's lock, calls the core, and releases the lock.
;;
;; The region that init(start, end) names begins (start rounded up to 16) with 4 KiB of its own:
;;
;;   +0     the lock word: 0 free, 1 held, 2 held and a thread may be waiting in memory.atomic.wait32
;;   +4     the heap's state: 0 none, SETUP while one instance sets it up, READY after
;;   +8     `end` as the instance that set the heap up gave it (0: the heap grows memory)
;;   +16    the shadow stack, down from +4096: the core's code uses a few bytes of it in cold paths
;;          (a pair returned through memory); every instance points its stack pointer here, and only
;;          the lock's holder runs the core, so the stack is part of the locked state
;;   +4096  the heap (its records, then its blocks), up to end
;;
;; The lock is a spin lock with exponential backoff that may, per instance, fall back to
;; memory.atomic.wait32 (a futex mutex, Drepper's "mutex 2"): by default a waiter only spins, since
;; the main thread of a browser must not block (wait32 traps there); an instance whose thread may
;; block calls set_may_block(1) once and then waits after SPIN_ROUNDS rounds of spinning.
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
  (import "core" "__wasmheap_malloc" (func $malloc (param i32 i32) (result i32)))
  (import "core" "__wasmheap_realloc" (func $realloc (param i32 i32 i32) (result i32)))
  (import "core" "__wasmheap_posix_memalign" (func $posix_memalign (param i32 i32 i32 i32) (result i32)))

  ;; This instance's view of the heap. $lock is the header's address minus 16: every access to the
  ;; header adds an offset of 16 or more, so before init (-16 + 16 = 2^32) every call traps on an
  ;; out-of-bounds access without touching memory, whatever its size.
  (global $lock (mut i32) (i32.const -16))
  (global $region (mut i32) (i32.const 0))
  (global $grows (mut i32) (i32.const 0))
  (global $may_block (mut i32) (i32.const 0))

  ;; The core's memory source asks this when it needs more than the region (cold path).
  (func (export "__wasmheap_grows") (result i32)
    (global.get $grows))

  ;; set_may_block(flag): non-zero when this instance's thread may block (a worker, a wasmtime
  ;; thread): a waiter then sleeps in memory.atomic.wait32 after spinning SPIN_ROUNDS rounds. Never
  ;; on a browser's main thread. Affects this instance only.
  (func (export "set_may_block") (param i32)
    (global.set $may_block (i32.ne (local.get 0) (i32.const 0))))

  ;; init(start, end) -> 1 | 0. Joins the heap of the region [start, end) if one was set up there
  ;; (by any instance over this memory, with the same end), else sets up a new, empty one; end = 0:
  ;; to the end of memory, growing it as needed. Calls of several threads at once are safe: one sets
  ;; up, the others wait for it and join. 0 when the region is bad (start 0, the 4 KiB header not in
  ;; memory, the heap's start past end or the records not fitting) or was set up with another end.
  ;; The region's first 8 bytes (from start rounded up to 16) must not hold a heap's READY state that
  ;; is not a live heap's (a fresh memory is zero).
  (func (export "init") (param $start i32) (param $end i32) (result i32)
    (local $hdr i64)
    (local $state i32)
    (local.set $hdr (i64.and (i64.add (i64.extend_i32_u (local.get $start)) (i64.const 15)) (i64.const -16)))
    (if (i32.or
          (i32.eqz (local.get $start))
          (i32.or
            (i64.gt_u (i64.add (local.get $hdr) (i64.const 4096))
                      (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
            (i32.and
              (i32.ne (local.get $end) (i32.const 0))
              (i64.gt_u (i64.add (local.get $hdr) (i64.const 4096)) (i64.extend_i32_u (local.get $end))))))
      (then (return (i32.const 0))))
    (global.set $lock (i32.sub (i32.wrap_i64 (local.get $hdr)) (i32.const 16)))
    (global.set $sp (i32.add (i32.wrap_i64 (local.get $hdr)) (i32.const 4096)))
    (loop $claim
      (local.set $state (i32.atomic.load offset=20 (global.get $lock)))
      ;; Set up by another instance: join it if the end agrees.
      (if (i32.eq (local.get $state) (i32.const 0x59444145)) ;; READY ("EADY")
        (then
          (if (i32.ne (i32.atomic.load offset=24 (global.get $lock)) (local.get $end))
            (then (return (i32.const 0))))
          (global.set $grows (i32.eqz (local.get $end)))
          (global.set $region (global.get $sp))
          (return (i32.const 1))))
      ;; Being set up by another instance: spin until it is done (an O(1) set-up).
      (if (i32.eq (local.get $state) (i32.const 0x55544553)) ;; SETUP ("SETU")
        (then (br $claim)))
      ;; Nothing (or not a heap): this instance claims it and sets the heap up.
      (br_if $claim
        (i32.ne (i32.atomic.rmw.cmpxchg offset=20 (global.get $lock) (local.get $state) (i32.const 0x55544553))
                (local.get $state))))
    (i32.atomic.store offset=16 (global.get $lock) (i32.const 0))
    (global.set $grows (i32.eqz (local.get $end)))
    (if (i32.eqz (call $init (global.get $sp) (local.get $end)))
      (then
        ;; A bad region: release the claim, so that a later init may try another end.
        (i32.atomic.store offset=20 (global.get $lock) (i32.const 0))
        (return (i32.const 0))))
    (i32.atomic.store offset=24 (global.get $lock) (local.get $end))
    (global.set $region (global.get $sp))
    (i32.atomic.store offset=20 (global.get $lock) (i32.const 0x59444145))
    (i32.const 1))

  ;; The lock (the word at $lock + 16). Uncontended: one cmpxchg to take it, one xchg to give it,
  ;; written out in every export (the fast paths; a call each would cost more than they do):
  ;;   take:  (if (i32.atomic.rmw.cmpxchg offset=16 (global.get $lock) (i32.const 0) (i32.const 1))
  ;;            (then (call $lock_contended)))
  ;;   give:  (if (i32.ne (i32.atomic.rmw.xchg offset=16 (global.get $lock) (i32.const 0)) (i32.const 1))
  ;;            (then (call $wake)))

  ;; SPIN_ROUNDS = 64 rounds, each an empty loop of 1, 2, 4, ... up to 256 iterations (about 15000
  ;; iterations in all, some microseconds) then a look at the word; a thread that may not block
  ;; goes on spinning at 256 iterations a round for as long as it takes.
  (func $lock_contended
    (local $rounds i32)
    (local $pause i32)
    (local $i i32)
    (local.set $pause (i32.const 1))
    (loop $spin
      (local.set $i (local.get $pause))
      (loop $wait (br_if $wait (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))
      (if (i32.eqz (i32.atomic.load offset=16 (global.get $lock)))
        (then
          (if (i32.eqz (i32.atomic.rmw.cmpxchg offset=16 (global.get $lock) (i32.const 0) (i32.const 1)))
            (then (return)))))
      (if (i32.lt_u (local.get $pause) (i32.const 256))
        (then (local.set $pause (i32.shl (local.get $pause) (i32.const 1)))))
      (local.set $rounds (i32.add (local.get $rounds) (i32.const 1)))
      (br_if $spin (i32.or (i32.eqz (global.get $may_block)) (i32.lt_u (local.get $rounds) (i32.const 64)))))
    ;; May block: mark the word contended (2) and sleep until it changes; whoever releases a
    ;; contended word wakes one sleeper. Taken with 2, so that the release wakes the next sleeper.
    (loop $sleep
      (if (i32.eqz (i32.atomic.rmw.xchg offset=16 (global.get $lock) (i32.const 2)))
        (then (return)))
      (drop (memory.atomic.wait32 offset=16 (global.get $lock) (i32.const 2) (i64.const -1)))
      (br $sleep)))

  ;; The word was contended (2): wake one sleeper.
  (func $wake
    (drop (memory.atomic.notify offset=16 (global.get $lock) (i32.const 1))))

  ;; Traps unless [ptr, ptr + len) lies in memory, before the lock is taken: a call that writes
  ;; through a bad pointer (stats, posix_memalign) must not trap while holding the lock.
  (func $in_memory (param $ptr i32) (param $len i32)
    (if (i64.gt_u (i64.add (i64.extend_i32_u (local.get $ptr)) (i64.extend_i32_u (local.get $len)))
                  (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
      (then (unreachable))))

  ;; The raw ABI (src/CONTRACT.md, "The raw ABI") and the C names (malloc, calloc and realloc
  ;; 16-aligned, as C requires), each under the lock.
  (func (export "allocate") (param i32) (result i32)
    (local $r i32)
    (if (i32.atomic.rmw.cmpxchg offset=16 (global.get $lock) (i32.const 0) (i32.const 1)) (then (call $lock_contended)))
    (local.set $r (call $allocate (global.get $region) (local.get 0)))
    (if (i32.ne (i32.atomic.rmw.xchg offset=16 (global.get $lock) (i32.const 0)) (i32.const 1)) (then (call $wake)))
    (local.get $r))
  (func (export "allocate_aligned") (param i32 i32) (result i32)
    (local $r i32)
    (if (i32.atomic.rmw.cmpxchg offset=16 (global.get $lock) (i32.const 0) (i32.const 1)) (then (call $lock_contended)))
    (local.set $r (call $allocate_aligned (global.get $region) (local.get 0) (local.get 1)))
    (if (i32.ne (i32.atomic.rmw.xchg offset=16 (global.get $lock) (i32.const 0)) (i32.const 1)) (then (call $wake)))
    (local.get $r))
  (func (export "deallocate") (param i32)
    (if (i32.atomic.rmw.cmpxchg offset=16 (global.get $lock) (i32.const 0) (i32.const 1)) (then (call $lock_contended)))
    (call $deallocate (global.get $region) (local.get 0))
    (if (i32.ne (i32.atomic.rmw.xchg offset=16 (global.get $lock) (i32.const 0)) (i32.const 1)) (then (call $wake))))
  (func (export "reallocate") (param i32 i32) (result i32)
    (local $r i32)
    (if (i32.atomic.rmw.cmpxchg offset=16 (global.get $lock) (i32.const 0) (i32.const 1)) (then (call $lock_contended)))
    (local.set $r (call $reallocate (global.get $region) (local.get 0) (local.get 1)))
    (if (i32.ne (i32.atomic.rmw.xchg offset=16 (global.get $lock) (i32.const 0)) (i32.const 1)) (then (call $wake)))
    (local.get $r))
  (func (export "size") (param i32) (result i32)
    (local $r i32)
    (if (i32.atomic.rmw.cmpxchg offset=16 (global.get $lock) (i32.const 0) (i32.const 1)) (then (call $lock_contended)))
    (local.set $r (call $size (global.get $region) (local.get 0)))
    (if (i32.ne (i32.atomic.rmw.xchg offset=16 (global.get $lock) (i32.const 0)) (i32.const 1)) (then (call $wake)))
    (local.get $r))
  (func (export "free_all")
    (if (i32.atomic.rmw.cmpxchg offset=16 (global.get $lock) (i32.const 0) (i32.const 1)) (then (call $lock_contended)))
    (call $free_all (global.get $region))
    (if (i32.ne (i32.atomic.rmw.xchg offset=16 (global.get $lock) (i32.const 0)) (i32.const 1)) (then (call $wake))))
  (func (export "free_all_mark")
    (if (i32.atomic.rmw.cmpxchg offset=16 (global.get $lock) (i32.const 0) (i32.const 1)) (then (call $lock_contended)))
    (call $free_all_mark (global.get $region))
    (if (i32.ne (i32.atomic.rmw.xchg offset=16 (global.get $lock) (i32.const 0)) (i32.const 1)) (then (call $wake))))
  (func (export "free_get_mark") (result i32)
    (local $r i32)
    (if (i32.atomic.rmw.cmpxchg offset=16 (global.get $lock) (i32.const 0) (i32.const 1)) (then (call $lock_contended)))
    (local.set $r (call $free_get_mark (global.get $region)))
    (if (i32.ne (i32.atomic.rmw.xchg offset=16 (global.get $lock) (i32.const 0)) (i32.const 1)) (then (call $wake)))
    (local.get $r))
  (func (export "free_to_mark") (param i32)
    (if (i32.atomic.rmw.cmpxchg offset=16 (global.get $lock) (i32.const 0) (i32.const 1)) (then (call $lock_contended)))
    (call $free_to_mark (global.get $region) (local.get 0))
    (if (i32.ne (i32.atomic.rmw.xchg offset=16 (global.get $lock) (i32.const 0)) (i32.const 1)) (then (call $wake))))
  (func (export "check") (result i32)
    (local $r i32)
    (if (i32.atomic.rmw.cmpxchg offset=16 (global.get $lock) (i32.const 0) (i32.const 1)) (then (call $lock_contended)))
    (local.set $r (call $check (global.get $region)))
    (if (i32.ne (i32.atomic.rmw.xchg offset=16 (global.get $lock) (i32.const 0)) (i32.const 1)) (then (call $wake)))
    (local.get $r))
  (func (export "stats") (param i32)
    (call $in_memory (local.get 0) (i32.const 64))
    (if (i32.atomic.rmw.cmpxchg offset=16 (global.get $lock) (i32.const 0) (i32.const 1)) (then (call $lock_contended)))
    (call $stats (global.get $region) (local.get 0))
    (if (i32.ne (i32.atomic.rmw.xchg offset=16 (global.get $lock) (i32.const 0)) (i32.const 1)) (then (call $wake))))
  (func (export "malloc") (param i32) (result i32)
    (local $r i32)
    (if (i32.atomic.rmw.cmpxchg offset=16 (global.get $lock) (i32.const 0) (i32.const 1)) (then (call $lock_contended)))
    (local.set $r (call $malloc (global.get $region) (local.get 0)))
    (if (i32.ne (i32.atomic.rmw.xchg offset=16 (global.get $lock) (i32.const 0)) (i32.const 1)) (then (call $wake)))
    (local.get $r))
  (func (export "free") (param i32)
    (if (i32.atomic.rmw.cmpxchg offset=16 (global.get $lock) (i32.const 0) (i32.const 1)) (then (call $lock_contended)))
    (call $deallocate (global.get $region) (local.get 0))
    (if (i32.ne (i32.atomic.rmw.xchg offset=16 (global.get $lock) (i32.const 0)) (i32.const 1)) (then (call $wake))))
  (func (export "realloc") (param i32 i32) (result i32)
    (local $r i32)
    (if (i32.atomic.rmw.cmpxchg offset=16 (global.get $lock) (i32.const 0) (i32.const 1)) (then (call $lock_contended)))
    (local.set $r (call $realloc (global.get $region) (local.get 0) (local.get 1)))
    (if (i32.ne (i32.atomic.rmw.xchg offset=16 (global.get $lock) (i32.const 0)) (i32.const 1)) (then (call $wake)))
    (local.get $r))
  ;; calloc clears the whole block, after the lock is given back (the block is the caller's). The
  ;; core's calloc leaves pages that memory.grow added during the call alone, as zero; it learns
  ;; where they begin from memory.size, which in V8 may lag another thread's memory.grow (seen:
  ;; thousands of pages, after an atomic read that saw the grown size): pages another thread grew,
  ;; used and freed would pass for fresh. An overflowing n * size asks malloc for 2^32 - 1 bytes:
  ;; it fails and counts, as the core's calloc does.
  (func (export "calloc") (param $n i32) (param $size i32) (result i32)
    (local $bytes i64)
    (local $r i32)
    (local.set $bytes (i64.mul (i64.extend_i32_u (local.get $n)) (i64.extend_i32_u (local.get $size))))
    (if (i64.gt_u (local.get $bytes) (i64.const 0xFFFFFFFF))
      (then (local.set $bytes (i64.const 0xFFFFFFFF))))
    (if (i32.atomic.rmw.cmpxchg offset=16 (global.get $lock) (i32.const 0) (i32.const 1)) (then (call $lock_contended)))
    (local.set $r (call $malloc (global.get $region) (i32.wrap_i64 (local.get $bytes))))
    (if (i32.ne (i32.atomic.rmw.xchg offset=16 (global.get $lock) (i32.const 0)) (i32.const 1)) (then (call $wake)))
    (if (local.get $r)
      (then (memory.fill (local.get $r) (i32.const 0) (i32.wrap_i64 (local.get $bytes)))))
    (local.get $r))
  (func (export "aligned_alloc") (param i32 i32) (result i32)
    (local $r i32)
    (if (i32.atomic.rmw.cmpxchg offset=16 (global.get $lock) (i32.const 0) (i32.const 1)) (then (call $lock_contended)))
    (local.set $r (call $allocate_aligned (global.get $region) (local.get 1) (local.get 0)))
    (if (i32.ne (i32.atomic.rmw.xchg offset=16 (global.get $lock) (i32.const 0)) (i32.const 1)) (then (call $wake)))
    (local.get $r))
  (func (export "posix_memalign") (param i32 i32 i32) (result i32)
    (local $r i32)
    (call $in_memory (local.get 0) (i32.const 4))
    (if (i32.atomic.rmw.cmpxchg offset=16 (global.get $lock) (i32.const 0) (i32.const 1)) (then (call $lock_contended)))
    (local.set $r (call $posix_memalign (global.get $region) (local.get 0) (local.get 1) (local.get 2)))
    (if (i32.ne (i32.atomic.rmw.xchg offset=16 (global.get $lock) (i32.const 0)) (i32.const 1)) (then (call $wake)))
    (local.get $r))
)
