"""`edgevision doctor`: check this machine can run models, and say how to fix what is missing."""

NAME = "doctor"
HELP = "check which runtimes, cameras and displays work here, with install commands for what is missing"
ORDER = 70


def configure(parser):
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")


def run(args) -> int:
    import json

    from edgevision.bench.doctor import diagnose, format_report

    report = diagnose()
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    # 3 = "check failed" (DESIGN.md): the report is printed, but nothing here can run a model.
    return 0 if report["ok"] else 3
