"""Dev-only baseline for tests/bench/model: Python onnxruntime on the same ONNX files, same settings.

  .venv-tools/bin/python tools/bench_ort.py <pack> <threads>
Reads one JSON command per line on stdin and answers one JSON line on stdout, so the benchmark can
interleave Kestrel and Python measure by measure (the machine's load drifts; interleaving is fair):
  {"op": "start"}                          → {"ms": median session start of both towers, 3 runs}
  {"op": "image", "batch": 8, "seconds": 3} → {"perSecond": images/s (median run)}
  {"op": "text", "seconds": 3}             → {"ms": median latency of one query}
"""

import json
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort


def options(threads):
    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    o.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    o.log_severity_level = 3
    return o


def timed(fn, min_runs, seconds):
    fn()  # warm
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    pack, threads = sys.argv[1], int(sys.argv[2])
    manifest = json.load(open(f"{pack}/manifest.json"))
    providers = ["CPUExecutionProvider"]

    def open_sessions():
        image = ort.InferenceSession(f"{pack}/{manifest['image']['file']}", options(threads), providers=providers)
        text = ort.InferenceSession(f"{pack}/{manifest['text']['file']}", options(threads), providers=providers)
        return image, text

    image, text = open_sessions()
    size = manifest["image"]["size"]
    rng = np.random.default_rng(0)
    print(json.dumps({"engine": f"onnxruntime (Python) {ort.__version__}"}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "start":
            starts = []
            for _ in range(3):
                del image, text
                t0 = time.perf_counter()
                image, text = open_sessions()
                starts.append(time.perf_counter() - t0)
            reply = {"ms": statistics.median(starts) * 1000}
        elif cmd["op"] == "image":
            batch = cmd["batch"]
            feed = {manifest["image"]["input"]: rng.standard_normal((batch, 3, size, size), dtype=np.float32)}
            reply = {"perSecond": batch / timed(lambda: image.run(None, feed), 3, cmd["seconds"])}
        else:
            ids = np.zeros((1, manifest["text"]["contextLength"]), dtype=np.int64)
            ids[0, :6] = [49406, 320, 3599, 593, 2148, 49407]
            feed = {manifest["text"]["input"]: ids}
            reply = {"ms": timed(lambda: text.run(None, feed), 10, cmd["seconds"]) * 1000}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
