// A thread of threads.test.mjs: an instance of the Rust program (host-tests/clients/threads) of its
// own over the shared memory, on the stack the main thread allocated for it, running work().
import { parentPort, workerData } from 'node:worker_threads';

const { module, memory, tid, rounds, stackTop } = workerData;
const { exports: x } = new WebAssembly.Instance(module, { env: { memory } });
x.__stack_pointer.value = stackTop; // before any call: the linker's stack is the main thread's
const sum = x.work(tid, rounds);
parentPort.postMessage({ sum });
