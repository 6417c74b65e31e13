"""`edgevision bench`: latency, memory and accuracy of model files on this device, as a report."""

NAME = "bench"
HELP = "benchmark .tflite/.onnx models on this device (latency, FPS, memory, accuracy) into a report"
ORDER = 60


def configure(parser):
    parser.add_argument("models", nargs="*", metavar="MODEL", help=".tflite or .onnx files to benchmark")
    parser.add_argument("--compare", nargs="+", metavar="RESULT.json",
                        help="merge bench.json files from several devices into one side-by-side report")
    parser.add_argument("--report", required=True, metavar="DIR",
                        help="folder for bench.json, bench.csv, bench.md, bench.html and plots (created if missing)")
    parser.add_argument("--threads", default=None, metavar="1,2,4",
                        help="comma-separated thread counts (default: 1, 2, 4, ... up to the core count)")
    parser.add_argument("--runs", type=int, default=100, help="timed runs per model and thread count (default 100)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed warm-up runs (default 10)")
    parser.add_argument("--max-seconds", type=float, default=20.0,
                        help="time budget per model and thread count; stops the runs early (default 20)")
    parser.add_argument("--data", metavar="DIR", help="labelled image folder or synthetic:shapes: also measure accuracy")
    parser.add_argument("--split", default="test", choices=("train", "val", "test", "all"),
                        help="which split of --data to score (default test, the one training held out; "
                             "all: every image, for a folder kept for evaluation only)")
    parser.add_argument("--limit", type=int, default=None, help="score at most this many images of --data")
    parser.add_argument("--labels", metavar="FILE",
                        help="label file for models that carry no labels (e.g. imagenet_labels.txt), to match --data classes")
    parser.add_argument("--max-drop", type=float, default=0.01,
                        help="accuracy a recommended model may lose against the best one (default 0.01 = 1 point)")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON document on stdout")


def parse_threads(text):
    from edgevision.errors import UserError

    try:
        counts = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        counts = []
    if not counts or any(c < 1 for c in counts):
        raise UserError(f"--threads {text!r} is not a list of positive integers: write it like 1,2,4")
    return list(dict.fromkeys(counts))


def check_arguments(args):
    from pathlib import Path

    from edgevision.errors import UserError

    if args.compare and args.models:
        raise UserError("pass either MODEL files or --compare RESULT.json files, not both")
    if not args.compare and not args.models:
        raise UserError("no MODEL given: pass .tflite/.onnx files, or --compare RESULT.json ... to merge reports")
    if args.runs < 1 or args.warmup < 0 or args.max_seconds <= 0:
        raise UserError("--runs must be >= 1, --warmup >= 0 and --max-seconds > 0")
    if not 0 <= args.max_drop <= 1:
        raise UserError(f"--max-drop {args.max_drop} is not an accuracy difference between 0 and 1 (0.01 = 1 point)")
    report_dir = Path(args.report)
    if report_dir.exists() and not report_dir.is_dir():
        raise UserError(f"--report {report_dir} is a file: give a folder (it is created if missing)")


def run(args) -> int:
    import json
    import sys
    from pathlib import Path

    from edgevision.bench import benchmark, compare, report, runner
    from edgevision.errors import UserError

    check_arguments(args)
    if args.compare:
        doc, paths, note = compare(args.compare, args.report, args.max_drop)
    else:
        if args.data:
            check_data(args.data)
        if args.labels and not Path(args.labels).is_file():
            raise UserError(f"--labels {args.labels}: no such file; pass a text file with one label a line")
        threads = parse_threads(args.threads) if args.threads else runner.default_threads()
        doc, paths, note = benchmark(args.models, args.report, threads, runs=args.runs, warmup=args.warmup,
                                     max_seconds=args.max_seconds, data=args.data, split=args.split,
                                     limit=args.limit, labels=args.labels, max_drop=args.max_drop)
    if note:
        print(note, file=sys.stderr)
    measured = report.ok_rows(doc["results"])
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        table = report.compare_table(doc) if args.compare else report.results_table(doc["results"])
        print(report.markdown_table(table))
        for rec in doc.get("recommendations", []) or [doc.get("recommendation")]:
            if rec:
                print(f"\n{rec.get('device', 'recommendation')}: {rec['text']}")
        print(f"\nreport: {paths[-1]}")
    if not measured:
        print(f"edgevision bench: error: no model could be measured (reasons in the table and in {paths[-1]})",
              file=sys.stderr)
        return 2
    return 0


def check_data(source):
    from pathlib import Path

    from edgevision.errors import UserError

    if not source.startswith("synthetic:") and not Path(source).is_dir():
        raise UserError(f"--data {source}: no such folder; pass a labelled image folder or synthetic:shapes")
