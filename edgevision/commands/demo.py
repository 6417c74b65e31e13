"""`edgevision demo`: the main job, train -> export -> predict -> video -> bench, on synthetic data."""

NAME = "demo"
HELP = ("Run the whole pipeline on built-in synthetic shapes (no download): train, export, predict, "
        "video, benchmark, and one HTML report")
ORDER = 80


def configure(parser):
    parser.add_argument("--out", default="edgevision-demo", help="folder for everything it writes (default edgevision-demo)")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier demo in --out")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON document")


def run(args) -> int:
    import contextlib
    import json
    import os
    import sys

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from edgevision.demo import run_demo

    with contextlib.redirect_stdout(sys.stderr):  # Keras progress bars are not the result
        result = run_demo(args.out, overwrite=args.overwrite)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"report: {result['report']}")
        print("\n".join(result["summary"]))
    return 0
