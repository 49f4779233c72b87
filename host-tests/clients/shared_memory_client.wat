;; A client module with its own data and stack at low addresses that gives wasmheap a region of
;; its memory above them: how a program shares one memory with wasm/wasmheap-import-memory.wasm.
;; Both import the memory (the host makes it: `env.memory`); the client imports the heap's
;; functions from module "wasmheap".
;;
;;   0x0000 .. 0x0400   slot table: 128 x { ptr, size }, the blocks the client holds
;;   0x0400 .. 0x1400   constant data (a data segment: byte j is (j * 37 + 11) & 255)
;;   0x1400 .. 0x5400   the client's own shadow stack (16 KiB, grows down from 0x5400)
;;   0x5400 .. end      given to wasmheap with `setup(0x5400, 0)` (its 4 KiB stack, then its heap)
;;
;; `churn(seed, steps)` allocates, reallocates, frees and callocs at random, fills every block with
;; a pattern and checks it before letting go of it. Around every call into wasmheap it pushes a
;; frame of 256 B .. 16 KiB on its own stack, with canaries at both ends, checks them after the
;; call and restores the stack bytes to 0xA5 (what the host fills the stack with): after `churn`,
;; the whole stack area is 0xA5 again unless someone else wrote there. Returns 0, or
;; `step << 4 | kind` of the first check that failed (kind 1: a block's contents or size, 2: a
;; kept prefix after reallocate, 3: calloc memory not zero, 4: a stack canary).
(module
  (import "env" "memory" (memory 1))
  (import "wasmheap" "init" (func $init (param i32 i32) (result i32)))
  (import "wasmheap" "allocate" (func $allocate (param i32) (result i32)))
  (import "wasmheap" "deallocate" (func $deallocate (param i32)))
  (import "wasmheap" "reallocate" (func $reallocate (param i32 i32) (result i32)))
  (import "wasmheap" "size" (func $size (param i32) (result i32)))
  (import "wasmheap" "calloc" (func $calloc (param i32 i32) (result i32)))

  (global $sp (mut i32) (i32.const 0x5400))
  (global $rng (mut i32) (i32.const 1))

  (data (i32.const 0x400)
    "\0b\30\55\7a\9f\c4\e9\0e\33\58\7d\a2\c7\ec\11\36\5b\80\a5\ca\ef\14\39\5e\83\a8\cd\f2\17\3c\61\86\ab\d0\f5\1a\3f\64\89\ae\d3\f8\1d\42\67\8c\b1\d6\fb\20\45\6a\8f\b4\d9\fe\23\48\6d\92\b7\dc\01\26\4b\70\95\ba\df\04\29\4e\73\98\bd\e2\07\2c\51\76\9b\c0\e5\0a\2f\54\79\9e\c3\e8\0d\32\57\7c\a1\c6\eb\10\35\5a\7f\a4\c9\ee\13\38\5d\82\a7\cc\f1\16\3b\60\85\aa\cf\f4\19\3e\63\88\ad\d2\f7\1c\41\66"
    "\8b\b0\d5\fa\1f\44\69\8e\b3\d8\fd\22\47\6c\91\b6\db\00\25\4a\6f\94\b9\de\03\28\4d\72\97\bc\e1\06\2b\50\75\9a\bf\e4\09\2e\53\78\9d\c2\e7\0c\31\56\7b\a0\c5\ea\0f\34\59\7e\a3\c8\ed\12\37\5c\81\a6\cb\f0\15\3a\5f\84\a9\ce\f3\18\3d\62\87\ac\d1\f6\1b\40\65\8a\af\d4\f9\1e\43\68\8d\b2\d7\fc\21\46\6b\90\b5\da\ff\24\49\6e\93\b8\dd\02\27\4c\71\96\bb\e0\05\2a\4f\74\99\be\e3\08\2d\52\77\9c\c1\e6"
    "\0b\30\55\7a\9f\c4\e9\0e\33\58\7d\a2\c7\ec\11\36\5b\80\a5\ca\ef\14\39\5e\83\a8\cd\f2\17\3c\61\86\ab\d0\f5\1a\3f\64\89\ae\d3\f8\1d\42\67\8c\b1\d6\fb\20\45\6a\8f\b4\d9\fe\23\48\6d\92\b7\dc\01\26\4b\70\95\ba\df\04\29\4e\73\98\bd\e2\07\2c\51\76\9b\c0\e5\0a\2f\54\79\9e\c3\e8\0d\32\57\7c\a1\c6\eb\10\35\5a\7f\a4\c9\ee\13\38\5d\82\a7\cc\f1\16\3b\60\85\aa\cf\f4\19\3e\63\88\ad\d2\f7\1c\41\66"
    "\8b\b0\d5\fa\1f\44\69\8e\b3\d8\fd\22\47\6c\91\b6\db\00\25\4a\6f\94\b9\de\03\28\4d\72\97\bc\e1\06\2b\50\75\9a\bf\e4\09\2e\53\78\9d\c2\e7\0c\31\56\7b\a0\c5\ea\0f\34\59\7e\a3\c8\ed\12\37\5c\81\a6\cb\f0\15\3a\5f\84\a9\ce\f3\18\3d\62\87\ac\d1\f6\1b\40\65\8a\af\d4\f9\1e\43\68\8d\b2\d7\fc\21\46\6b\90\b5\da\ff\24\49\6e\93\b8\dd\02\27\4c\71\96\bb\e0\05\2a\4f\74\99\be\e3\08\2d\52\77\9c\c1\e6"
    "\0b\30\55\7a\9f\c4\e9\0e\33\58\7d\a2\c7\ec\11\36\5b\80\a5\ca\ef\14\39\5e\83\a8\cd\f2\17\3c\61\86\ab\d0\f5\1a\3f\64\89\ae\d3\f8\1d\42\67\8c\b1\d6\fb\20\45\6a\8f\b4\d9\fe\23\48\6d\92\b7\dc\01\26\4b\70\95\ba\df\04\29\4e\73\98\bd\e2\07\2c\51\76\9b\c0\e5\0a\2f\54\79\9e\c3\e8\0d\32\57\7c\a1\c6\eb\10\35\5a\7f\a4\c9\ee\13\38\5d\82\a7\cc\f1\16\3b\60\85\aa\cf\f4\19\3e\63\88\ad\d2\f7\1c\41\66"
    "\8b\b0\d5\fa\1f\44\69\8e\b3\d8\fd\22\47\6c\91\b6\db\00\25\4a\6f\94\b9\de\03\28\4d\72\97\bc\e1\06\2b\50\75\9a\bf\e4\09\2e\53\78\9d\c2\e7\0c\31\56\7b\a0\c5\ea\0f\34\59\7e\a3\c8\ed\12\37\5c\81\a6\cb\f0\15\3a\5f\84\a9\ce\f3\18\3d\62\87\ac\d1\f6\1b\40\65\8a\af\d4\f9\1e\43\68\8d\b2\d7\fc\21\46\6b\90\b5\da\ff\24\49\6e\93\b8\dd\02\27\4c\71\96\bb\e0\05\2a\4f\74\99\be\e3\08\2d\52\77\9c\c1\e6"
    "\0b\30\55\7a\9f\c4\e9\0e\33\58\7d\a2\c7\ec\11\36\5b\80\a5\ca\ef\14\39\5e\83\a8\cd\f2\17\3c\61\86\ab\d0\f5\1a\3f\64\89\ae\d3\f8\1d\42\67\8c\b1\d6\fb\20\45\6a\8f\b4\d9\fe\23\48\6d\92\b7\dc\01\26\4b\70\95\ba\df\04\29\4e\73\98\bd\e2\07\2c\51\76\9b\c0\e5\0a\2f\54\79\9e\c3\e8\0d\32\57\7c\a1\c6\eb\10\35\5a\7f\a4\c9\ee\13\38\5d\82\a7\cc\f1\16\3b\60\85\aa\cf\f4\19\3e\63\88\ad\d2\f7\1c\41\66"
    "\8b\b0\d5\fa\1f\44\69\8e\b3\d8\fd\22\47\6c\91\b6\db\00\25\4a\6f\94\b9\de\03\28\4d\72\97\bc\e1\06\2b\50\75\9a\bf\e4\09\2e\53\78\9d\c2\e7\0c\31\56\7b\a0\c5\ea\0f\34\59\7e\a3\c8\ed\12\37\5c\81\a6\cb\f0\15\3a\5f\84\a9\ce\f3\18\3d\62\87\ac\d1\f6\1b\40\65\8a\af\d4\f9\1e\43\68\8d\b2\d7\fc\21\46\6b\90\b5\da\ff\24\49\6e\93\b8\dd\02\27\4c\71\96\bb\e0\05\2a\4f\74\99\be\e3\08\2d\52\77\9c\c1\e6"
    "\0b\30\55\7a\9f\c4\e9\0e\33\58\7d\a2\c7\ec\11\36\5b\80\a5\ca\ef\14\39\5e\83\a8\cd\f2\17\3c\61\86\ab\d0\f5\1a\3f\64\89\ae\d3\f8\1d\42\67\8c\b1\d6\fb\20\45\6a\8f\b4\d9\fe\23\48\6d\92\b7\dc\01\26\4b\70\95\ba\df\04\29\4e\73\98\bd\e2\07\2c\51\76\9b\c0\e5\0a\2f\54\79\9e\c3\e8\0d\32\57\7c\a1\c6\eb\10\35\5a\7f\a4\c9\ee\13\38\5d\82\a7\cc\f1\16\3b\60\85\aa\cf\f4\19\3e\63\88\ad\d2\f7\1c\41\66"
    "\8b\b0\d5\fa\1f\44\69\8e\b3\d8\fd\22\47\6c\91\b6\db\00\25\4a\6f\94\b9\de\03\28\4d\72\97\bc\e1\06\2b\50\75\9a\bf\e4\09\2e\53\78\9d\c2\e7\0c\31\56\7b\a0\c5\ea\0f\34\59\7e\a3\c8\ed\12\37\5c\81\a6\cb\f0\15\3a\5f\84\a9\ce\f3\18\3d\62\87\ac\d1\f6\1b\40\65\8a\af\d4\f9\1e\43\68\8d\b2\d7\fc\21\46\6b\90\b5\da\ff\24\49\6e\93\b8\dd\02\27\4c\71\96\bb\e0\05\2a\4f\74\99\be\e3\08\2d\52\77\9c\c1\e6"
    "\0b\30\55\7a\9f\c4\e9\0e\33\58\7d\a2\c7\ec\11\36\5b\80\a5\ca\ef\14\39\5e\83\a8\cd\f2\17\3c\61\86\ab\d0\f5\1a\3f\64\89\ae\d3\f8\1d\42\67\8c\b1\d6\fb\20\45\6a\8f\b4\d9\fe\23\48\6d\92\b7\dc\01\26\4b\70\95\ba\df\04\29\4e\73\98\bd\e2\07\2c\51\76\9b\c0\e5\0a\2f\54\79\9e\c3\e8\0d\32\57\7c\a1\c6\eb\10\35\5a\7f\a4\c9\ee\13\38\5d\82\a7\cc\f1\16\3b\60\85\aa\cf\f4\19\3e\63\88\ad\d2\f7\1c\41\66"
    "\8b\b0\d5\fa\1f\44\69\8e\b3\d8\fd\22\47\6c\91\b6\db\00\25\4a\6f\94\b9\de\03\28\4d\72\97\bc\e1\06\2b\50\75\9a\bf\e4\09\2e\53\78\9d\c2\e7\0c\31\56\7b\a0\c5\ea\0f\34\59\7e\a3\c8\ed\12\37\5c\81\a6\cb\f0\15\3a\5f\84\a9\ce\f3\18\3d\62\87\ac\d1\f6\1b\40\65\8a\af\d4\f9\1e\43\68\8d\b2\d7\fc\21\46\6b\90\b5\da\ff\24\49\6e\93\b8\dd\02\27\4c\71\96\bb\e0\05\2a\4f\74\99\be\e3\08\2d\52\77\9c\c1\e6"
    "\0b\30\55\7a\9f\c4\e9\0e\33\58\7d\a2\c7\ec\11\36\5b\80\a5\ca\ef\14\39\5e\83\a8\cd\f2\17\3c\61\86\ab\d0\f5\1a\3f\64\89\ae\d3\f8\1d\42\67\8c\b1\d6\fb\20\45\6a\8f\b4\d9\fe\23\48\6d\92\b7\dc\01\26\4b\70\95\ba\df\04\29\4e\73\98\bd\e2\07\2c\51\76\9b\c0\e5\0a\2f\54\79\9e\c3\e8\0d\32\57\7c\a1\c6\eb\10\35\5a\7f\a4\c9\ee\13\38\5d\82\a7\cc\f1\16\3b\60\85\aa\cf\f4\19\3e\63\88\ad\d2\f7\1c\41\66"
    "\8b\b0\d5\fa\1f\44\69\8e\b3\d8\fd\22\47\6c\91\b6\db\00\25\4a\6f\94\b9\de\03\28\4d\72\97\bc\e1\06\2b\50\75\9a\bf\e4\09\2e\53\78\9d\c2\e7\0c\31\56\7b\a0\c5\ea\0f\34\59\7e\a3\c8\ed\12\37\5c\81\a6\cb\f0\15\3a\5f\84\a9\ce\f3\18\3d\62\87\ac\d1\f6\1b\40\65\8a\af\d4\f9\1e\43\68\8d\b2\d7\fc\21\46\6b\90\b5\da\ff\24\49\6e\93\b8\dd\02\27\4c\71\96\bb\e0\05\2a\4f\74\99\be\e3\08\2d\52\77\9c\c1\e6"
    "\0b\30\55\7a\9f\c4\e9\0e\33\58\7d\a2\c7\ec\11\36\5b\80\a5\ca\ef\14\39\5e\83\a8\cd\f2\17\3c\61\86\ab\d0\f5\1a\3f\64\89\ae\d3\f8\1d\42\67\8c\b1\d6\fb\20\45\6a\8f\b4\d9\fe\23\48\6d\92\b7\dc\01\26\4b\70\95\ba\df\04\29\4e\73\98\bd\e2\07\2c\51\76\9b\c0\e5\0a\2f\54\79\9e\c3\e8\0d\32\57\7c\a1\c6\eb\10\35\5a\7f\a4\c9\ee\13\38\5d\82\a7\cc\f1\16\3b\60\85\aa\cf\f4\19\3e\63\88\ad\d2\f7\1c\41\66"
    "\8b\b0\d5\fa\1f\44\69\8e\b3\d8\fd\22\47\6c\91\b6\db\00\25\4a\6f\94\b9\de\03\28\4d\72\97\bc\e1\06\2b\50\75\9a\bf\e4\09\2e\53\78\9d\c2\e7\0c\31\56\7b\a0\c5\ea\0f\34\59\7e\a3\c8\ed\12\37\5c\81\a6\cb\f0\15\3a\5f\84\a9\ce\f3\18\3d\62\87\ac\d1\f6\1b\40\65\8a\af\d4\f9\1e\43\68\8d\b2\d7\fc\21\46\6b\90\b5\da\ff\24\49\6e\93\b8\dd\02\27\4c\71\96\bb\e0\05\2a\4f\74\99\be\e3\08\2d\52\77\9c\c1\e6"
    "\0b\30\55\7a\9f\c4\e9\0e\33\58\7d\a2\c7\ec\11\36\5b\80\a5\ca\ef\14\39\5e\83\a8\cd\f2\17\3c\61\86\ab\d0\f5\1a\3f\64\89\ae\d3\f8\1d\42\67\8c\b1\d6\fb\20\45\6a\8f\b4\d9\fe\23\48\6d\92\b7\dc\01\26\4b\70\95\ba\df\04\29\4e\73\98\bd\e2\07\2c\51\76\9b\c0\e5\0a\2f\54\79\9e\c3\e8\0d\32\57\7c\a1\c6\eb\10\35\5a\7f\a4\c9\ee\13\38\5d\82\a7\cc\f1\16\3b\60\85\aa\cf\f4\19\3e\63\88\ad\d2\f7\1c\41\66"
    "\8b\b0\d5\fa\1f\44\69\8e\b3\d8\fd\22\47\6c\91\b6\db\00\25\4a\6f\94\b9\de\03\28\4d\72\97\bc\e1\06\2b\50\75\9a\bf\e4\09\2e\53\78\9d\c2\e7\0c\31\56\7b\a0\c5\ea\0f\34\59\7e\a3\c8\ed\12\37\5c\81\a6\cb\f0\15\3a\5f\84\a9\ce\f3\18\3d\62\87\ac\d1\f6\1b\40\65\8a\af\d4\f9\1e\43\68\8d\b2\d7\fc\21\46\6b\90\b5\da\ff\24\49\6e\93\b8\dd\02\27\4c\71\96\bb\e0\05\2a\4f\74\99\be\e3\08\2d\52\77\9c\c1\e6"
    "\0b\30\55\7a\9f\c4\e9\0e\33\58\7d\a2\c7\ec\11\36\5b\80\a5\ca\ef\14\39\5e\83\a8\cd\f2\17\3c\61\86\ab\d0\f5\1a\3f\64\89\ae\d3\f8\1d\42\67\8c\b1\d6\fb\20\45\6a\8f\b4\d9\fe\23\48\6d\92\b7\dc\01\26\4b\70\95\ba\df\04\29\4e\73\98\bd\e2\07\2c\51\76\9b\c0\e5\0a\2f\54\79\9e\c3\e8\0d\32\57\7c\a1\c6\eb\10\35\5a\7f\a4\c9\ee\13\38\5d\82\a7\cc\f1\16\3b\60\85\aa\cf\f4\19\3e\63\88\ad\d2\f7\1c\41\66"
    "\8b\b0\d5\fa\1f\44\69\8e\b3\d8\fd\22\47\6c\91\b6\db\00\25\4a\6f\94\b9\de\03\28\4d\72\97\bc\e1\06\2b\50\75\9a\bf\e4\09\2e\53\78\9d\c2\e7\0c\31\56\7b\a0\c5\ea\0f\34\59\7e\a3\c8\ed\12\37\5c\81\a6\cb\f0\15\3a\5f\84\a9\ce\f3\18\3d\62\87\ac\d1\f6\1b\40\65\8a\af\d4\f9\1e\43\68\8d\b2\d7\fc\21\46\6b\90\b5\da\ff\24\49\6e\93\b8\dd\02\27\4c\71\96\bb\e0\05\2a\4f\74\99\be\e3\08\2d\52\77\9c\c1\e6"
    "\0b\30\55\7a\9f\c4\e9\0e\33\58\7d\a2\c7\ec\11\36\5b\80\a5\ca\ef\14\39\5e\83\a8\cd\f2\17\3c\61\86\ab\d0\f5\1a\3f\64\89\ae\d3\f8\1d\42\67\8c\b1\d6\fb\20\45\6a\8f\b4\d9\fe\23\48\6d\92\b7\dc\01\26\4b\70\95\ba\df\04\29\4e\73\98\bd\e2\07\2c\51\76\9b\c0\e5\0a\2f\54\79\9e\c3\e8\0d\32\57\7c\a1\c6\eb\10\35\5a\7f\a4\c9\ee\13\38\5d\82\a7\cc\f1\16\3b\60\85\aa\cf\f4\19\3e\63\88\ad\d2\f7\1c\41\66"
    "\8b\b0\d5\fa\1f\44\69\8e\b3\d8\fd\22\47\6c\91\b6\db\00\25\4a\6f\94\b9\de\03\28\4d\72\97\bc\e1\06\2b\50\75\9a\bf\e4\09\2e\53\78\9d\c2\e7\0c\31\56\7b\a0\c5\ea\0f\34\59\7e\a3\c8\ed\12\37\5c\81\a6\cb\f0\15\3a\5f\84\a9\ce\f3\18\3d\62\87\ac\d1\f6\1b\40\65\8a\af\d4\f9\1e\43\68\8d\b2\d7\fc\21\46\6b\90\b5\da\ff\24\49\6e\93\b8\dd\02\27\4c\71\96\bb\e0\05\2a\4f\74\99\be\e3\08\2d\52\77\9c\c1\e6"
    "\0b\30\55\7a\9f\c4\e9\0e\33\58\7d\a2\c7\ec\11\36\5b\80\a5\ca\ef\14\39\5e\83\a8\cd\f2\17\3c\61\86\ab\d0\f5\1a\3f\64\89\ae\d3\f8\1d\42\67\8c\b1\d6\fb\20\45\6a\8f\b4\d9\fe\23\48\6d\92\b7\dc\01\26\4b\70\95\ba\df\04\29\4e\73\98\bd\e2\07\2c\51\76\9b\c0\e5\0a\2f\54\79\9e\c3\e8\0d\32\57\7c\a1\c6\eb\10\35\5a\7f\a4\c9\ee\13\38\5d\82\a7\cc\f1\16\3b\60\85\aa\cf\f4\19\3e\63\88\ad\d2\f7\1c\41\66"
    "\8b\b0\d5\fa\1f\44\69\8e\b3\d8\fd\22\47\6c\91\b6\db\00\25\4a\6f\94\b9\de\03\28\4d\72\97\bc\e1\06\2b\50\75\9a\bf\e4\09\2e\53\78\9d\c2\e7\0c\31\56\7b\a0\c5\ea\0f\34\59\7e\a3\c8\ed\12\37\5c\81\a6\cb\f0\15\3a\5f\84\a9\ce\f3\18\3d\62\87\ac\d1\f6\1b\40\65\8a\af\d4\f9\1e\43\68\8d\b2\d7\fc\21\46\6b\90\b5\da\ff\24\49\6e\93\b8\dd\02\27\4c\71\96\bb\e0\05\2a\4f\74\99\be\e3\08\2d\52\77\9c\c1\e6"
    "\0b\30\55\7a\9f\c4\e9\0e\33\58\7d\a2\c7\ec\11\36\5b\80\a5\ca\ef\14\39\5e\83\a8\cd\f2\17\3c\61\86\ab\d0\f5\1a\3f\64\89\ae\d3\f8\1d\42\67\8c\b1\d6\fb\20\45\6a\8f\b4\d9\fe\23\48\6d\92\b7\dc\01\26\4b\70\95\ba\df\04\29\4e\73\98\bd\e2\07\2c\51\76\9b\c0\e5\0a\2f\54\79\9e\c3\e8\0d\32\57\7c\a1\c6\eb\10\35\5a\7f\a4\c9\ee\13\38\5d\82\a7\cc\f1\16\3b\60\85\aa\cf\f4\19\3e\63\88\ad\d2\f7\1c\41\66"
    "\8b\b0\d5\fa\1f\44\69\8e\b3\d8\fd\22\47\6c\91\b6\db\00\25\4a\6f\94\b9\de\03\28\4d\72\97\bc\e1\06\2b\50\75\9a\bf\e4\09\2e\53\78\9d\c2\e7\0c\31\56\7b\a0\c5\ea\0f\34\59\7e\a3\c8\ed\12\37\5c\81\a6\cb\f0\15\3a\5f\84\a9\ce\f3\18\3d\62\87\ac\d1\f6\1b\40\65\8a\af\d4\f9\1e\43\68\8d\b2\d7\fc\21\46\6b\90\b5\da\ff\24\49\6e\93\b8\dd\02\27\4c\71\96\bb\e0\05\2a\4f\74\99\be\e3\08\2d\52\77\9c\c1\e6"
    "\0b\30\55\7a\9f\c4\e9\0e\33\58\7d\a2\c7\ec\11\36\5b\80\a5\ca\ef\14\39\5e\83\a8\cd\f2\17\3c\61\86\ab\d0\f5\1a\3f\64\89\ae\d3\f8\1d\42\67\8c\b1\d6\fb\20\45\6a\8f\b4\d9\fe\23\48\6d\92\b7\dc\01\26\4b\70\95\ba\df\04\29\4e\73\98\bd\e2\07\2c\51\76\9b\c0\e5\0a\2f\54\79\9e\c3\e8\0d\32\57\7c\a1\c6\eb\10\35\5a\7f\a4\c9\ee\13\38\5d\82\a7\cc\f1\16\3b\60\85\aa\cf\f4\19\3e\63\88\ad\d2\f7\1c\41\66"
    "\8b\b0\d5\fa\1f\44\69\8e\b3\d8\fd\22\47\6c\91\b6\db\00\25\4a\6f\94\b9\de\03\28\4d\72\97\bc\e1\06\2b\50\75\9a\bf\e4\09\2e\53\78\9d\c2\e7\0c\31\56\7b\a0\c5\ea\0f\34\59\7e\a3\c8\ed\12\37\5c\81\a6\cb\f0\15\3a\5f\84\a9\ce\f3\18\3d\62\87\ac\d1\f6\1b\40\65\8a\af\d4\f9\1e\43\68\8d\b2\d7\fc\21\46\6b\90\b5\da\ff\24\49\6e\93\b8\dd\02\27\4c\71\96\bb\e0\05\2a\4f\74\99\be\e3\08\2d\52\77\9c\c1\e6"
    "\0b\30\55\7a\9f\c4\e9\0e\33\58\7d\a2\c7\ec\11\36\5b\80\a5\ca\ef\14\39\5e\83\a8\cd\f2\17\3c\61\86\ab\d0\f5\1a\3f\64\89\ae\d3\f8\1d\42\67\8c\b1\d6\fb\20\45\6a\8f\b4\d9\fe\23\48\6d\92\b7\dc\01\26\4b\70\95\ba\df\04\29\4e\73\98\bd\e2\07\2c\51\76\9b\c0\e5\0a\2f\54\79\9e\c3\e8\0d\32\57\7c\a1\c6\eb\10\35\5a\7f\a4\c9\ee\13\38\5d\82\a7\cc\f1\16\3b\60\85\aa\cf\f4\19\3e\63\88\ad\d2\f7\1c\41\66"
    "\8b\b0\d5\fa\1f\44\69\8e\b3\d8\fd\22\47\6c\91\b6\db\00\25\4a\6f\94\b9\de\03\28\4d\72\97\bc\e1\06\2b\50\75\9a\bf\e4\09\2e\53\78\9d\c2\e7\0c\31\56\7b\a0\c5\ea\0f\34\59\7e\a3\c8\ed\12\37\5c\81\a6\cb\f0\15\3a\5f\84\a9\ce\f3\18\3d\62\87\ac\d1\f6\1b\40\65\8a\af\d4\f9\1e\43\68\8d\b2\d7\fc\21\46\6b\90\b5\da\ff\24\49\6e\93\b8\dd\02\27\4c\71\96\bb\e0\05\2a\4f\74\99\be\e3\08\2d\52\77\9c\c1\e6"
    "\0b\30\55\7a\9f\c4\e9\0e\33\58\7d\a2\c7\ec\11\36\5b\80\a5\ca\ef\14\39\5e\83\a8\cd\f2\17\3c\61\86\ab\d0\f5\1a\3f\64\89\ae\d3\f8\1d\42\67\8c\b1\d6\fb\20\45\6a\8f\b4\d9\fe\23\48\6d\92\b7\dc\01\26\4b\70\95\ba\df\04\29\4e\73\98\bd\e2\07\2c\51\76\9b\c0\e5\0a\2f\54\79\9e\c3\e8\0d\32\57\7c\a1\c6\eb\10\35\5a\7f\a4\c9\ee\13\38\5d\82\a7\cc\f1\16\3b\60\85\aa\cf\f4\19\3e\63\88\ad\d2\f7\1c\41\66"
    "\8b\b0\d5\fa\1f\44\69\8e\b3\d8\fd\22\47\6c\91\b6\db\00\25\4a\6f\94\b9\de\03\28\4d\72\97\bc\e1\06\2b\50\75\9a\bf\e4\09\2e\53\78\9d\c2\e7\0c\31\56\7b\a0\c5\ea\0f\34\59\7e\a3\c8\ed\12\37\5c\81\a6\cb\f0\15\3a\5f\84\a9\ce\f3\18\3d\62\87\ac\d1\f6\1b\40\65\8a\af\d4\f9\1e\43\68\8d\b2\d7\fc\21\46\6b\90\b5\da\ff\24\49\6e\93\b8\dd\02\27\4c\71\96\bb\e0\05\2a\4f\74\99\be\e3\08\2d\52\77\9c\c1\e6")

  ;; setup(start, end) -> 1 | 0: gives wasmheap the region [start, end) (end 0: to the end of
  ;; memory, growing it).
  (func (export "setup") (param $start i32) (param $end i32) (result i32)
    (call $init (local.get $start) (local.get $end)))

  (func $rand (result i32)
    (local $x i32)
    (local.set $x (global.get $rng))
    (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 13))))
    (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 17))))
    (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 5))))
    (global.set $rng (local.get $x))
    (local.get $x))

  ;; A frame of `depth` bytes on the client's stack, canaries in its first and last 16 bytes.
  (func $enter (param $depth i32)
    (local $i i32)
    (global.set $sp (i32.sub (global.get $sp) (local.get $depth)))
    (loop $words
      (i32.store (i32.add (global.get $sp) (local.get $i))
        (i32.add (i32.or (i32.const 0xC0DE0000) (local.get $depth)) (local.get $i)))
      (i32.store (i32.sub (i32.add (global.get $sp) (local.get $depth)) (i32.add (local.get $i) (i32.const 4)))
        (i32.sub (i32.or (i32.const 0xC0DE0000) (local.get $depth)) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $words (i32.lt_u (local.get $i) (i32.const 16)))))

  ;; Checks the canaries of the frame, gives its bytes back to 0xA5 and pops it. 1 when intact.
  (func $leave (param $depth i32) (result i32)
    (local $i i32) (local $ok i32)
    (local.set $ok (i32.const 1))
    (loop $words
      (if (i32.ne (i32.load (i32.add (global.get $sp) (local.get $i)))
            (i32.add (i32.or (i32.const 0xC0DE0000) (local.get $depth)) (local.get $i)))
        (then (local.set $ok (i32.const 0))))
      (if (i32.ne (i32.load (i32.sub (i32.add (global.get $sp) (local.get $depth)) (i32.add (local.get $i) (i32.const 4))))
            (i32.sub (i32.or (i32.const 0xC0DE0000) (local.get $depth)) (local.get $i)))
        (then (local.set $ok (i32.const 0))))
      (i32.store (i32.add (global.get $sp) (local.get $i)) (i32.const 0xA5A5A5A5))
      (i32.store (i32.sub (i32.add (global.get $sp) (local.get $depth)) (i32.add (local.get $i) (i32.const 4)))
        (i32.const 0xA5A5A5A5))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $words (i32.lt_u (local.get $i) (i32.const 16))))
    (global.set $sp (i32.add (global.get $sp) (local.get $depth)))
    (local.get $ok))

  ;; Byte k of the block of `slot` with `size` bytes.
  (func $byte (param $slot i32) (param $size i32) (param $k i32) (result i32)
    (i32.and
      (i32.add (i32.add (i32.mul (local.get $slot) (i32.const 29)) (i32.mul (local.get $size) (i32.const 7)))
        (i32.mul (local.get $k) (i32.const 13)))
      (i32.const 255)))

  (func $fill (param $slot i32) (param $ptr i32) (param $size i32)
    (local $k i32)
    (block $done
      (loop $bytes
        (br_if $done (i32.ge_u (local.get $k) (local.get $size)))
        (i32.store8 (i32.add (local.get $ptr) (local.get $k))
          (call $byte (local.get $slot) (local.get $size) (local.get $k)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $bytes))))

  ;; 1 when the first `len` bytes at ptr are the pattern of (slot, size).
  (func $holds (param $slot i32) (param $ptr i32) (param $size i32) (param $len i32) (result i32)
    (local $k i32)
    (block $done
      (loop $bytes
        (br_if $done (i32.ge_u (local.get $k) (local.get $len)))
        (if (i32.ne (i32.load8_u (i32.add (local.get $ptr) (local.get $k)))
              (call $byte (local.get $slot) (local.get $size) (local.get $k)))
          (then (return (i32.const 0))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $bytes)))
    (i32.const 1))

  (func $zero (param $ptr i32) (param $len i32) (result i32)
    (local $k i32)
    (block $done
      (loop $bytes
        (br_if $done (i32.ge_u (local.get $k) (local.get $len)))
        (if (i32.load8_u (i32.add (local.get $ptr) (local.get $k))) (then (return (i32.const 0))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $bytes)))
    (i32.const 1))

  ;; A new block size from a random word: mostly 0 .. 1999 bytes, one in 64 from 16 KiB to 80 KiB.
  (func $new_size (param $r i32) (result i32)
    (if (result i32) (i32.eqz (i32.and (i32.shr_u (local.get $r) (i32.const 10)) (i32.const 63)))
      (then (i32.add (i32.const 16384) (i32.shr_u (local.get $r) (i32.const 16))))
      (else (i32.rem_u (i32.shr_u (local.get $r) (i32.const 16)) (i32.const 2000)))))

  (func (export "churn") (param $seed i32) (param $steps i32) (result i32)
    (local $step i32) (local $r i32) (local $slot i32) (local $at i32) (local $ptr i32)
    (local $size i32) (local $new i32) (local $p i32) (local $depth i32) (local $keep i32)
    (global.set $rng (i32.or (local.get $seed) (i32.const 1)))
    (block $done
      (loop $steps
        (br_if $done (i32.ge_u (local.get $step) (local.get $steps)))
        (local.set $r (call $rand))
        (local.set $slot (i32.and (local.get $r) (i32.const 127)))
        (local.set $at (i32.shl (local.get $slot) (i32.const 3)))
        (local.set $ptr (i32.load (local.get $at)))
        (local.set $size (i32.load offset=4 (local.get $at)))
        ;; 256 B .. 16 KiB: the deepest frame reaches the bottom of the client's stack
        (local.set $depth (i32.shl (i32.add (i32.and (call $rand) (i32.const 63)) (i32.const 1)) (i32.const 8)))
        (local.set $new (call $new_size (call $rand)))
        (if (local.get $ptr)
          (then
            (if (i32.or (i32.ne (call $size (local.get $ptr)) (local.get $size))
                  (i32.eqz (call $holds (local.get $slot) (local.get $ptr) (local.get $size) (local.get $size))))
              (then (return (i32.or (i32.shl (local.get $step) (i32.const 4)) (i32.const 1)))))
            (if (i32.and (local.get $r) (i32.const 128))
              (then ;; free
                (call $enter (local.get $depth))
                (call $deallocate (local.get $ptr))
                (if (i32.eqz (call $leave (local.get $depth)))
                  (then (return (i32.or (i32.shl (local.get $step) (i32.const 4)) (i32.const 4)))))
                (i32.store (local.get $at) (i32.const 0))
                (i32.store offset=4 (local.get $at) (i32.const 0)))
              (else ;; reallocate
                (call $enter (local.get $depth))
                (local.set $p (call $reallocate (local.get $ptr) (local.get $new)))
                (if (i32.eqz (call $leave (local.get $depth)))
                  (then (return (i32.or (i32.shl (local.get $step) (i32.const 4)) (i32.const 4)))))
                (if (local.get $p)
                  (then
                    (local.set $keep (select (local.get $size) (local.get $new)
                      (i32.lt_u (local.get $size) (local.get $new))))
                    (if (i32.eqz (call $holds (local.get $slot) (local.get $p) (local.get $size) (local.get $keep)))
                      (then (return (i32.or (i32.shl (local.get $step) (i32.const 4)) (i32.const 2)))))
                    (call $fill (local.get $slot) (local.get $p) (local.get $new))
                    (i32.store (local.get $at) (local.get $p))
                    (i32.store offset=4 (local.get $at) (local.get $new)))))))
          (else ;; allocate, or calloc one time in four
            (call $enter (local.get $depth))
            (if (i32.and (local.get $r) (i32.const 768))
              (then (local.set $p (call $allocate (local.get $new))))
              (else (local.set $p (call $calloc (i32.const 1) (local.get $new)))))
            (if (i32.eqz (call $leave (local.get $depth)))
              (then (return (i32.or (i32.shl (local.get $step) (i32.const 4)) (i32.const 4)))))
            (if (local.get $p)
              (then
                (if (i32.eqz (i32.and (local.get $r) (i32.const 768)))
                  (then
                    (if (i32.eqz (call $zero (local.get $p) (local.get $new)))
                      (then (return (i32.or (i32.shl (local.get $step) (i32.const 4)) (i32.const 3)))))))
                (call $fill (local.get $slot) (local.get $p) (local.get $new))
                (i32.store (local.get $at) (local.get $p))
                (i32.store offset=4 (local.get $at) (local.get $new))))))
        (local.set $step (i32.add (local.get $step) (i32.const 1)))
        (br $steps)))
    (i32.const 0))
)
