"""`rasid labelstudio ACTION ...`: the annotation loop between a Label Studio server and training.

    config   print the labeling config generated from the schema
    create   create a project from the schema (or, with --project, update its labeling config)
    import   import articles as tasks, with a model's predictions as pre-annotations (--model)
    predict  attach a model's predictions to the tasks a project already has
    export   export the annotations (a server-side snapshot) as article JSONL for training
    next     pick the tasks to annotate next by model uncertainty (rasid.labelstudio.active)
    up       start a local server in .labelstudio/ with a seeded project (what `make labelstudio` runs)
    down     stop a server that `up --detach` left running

The server is --url, else $LABEL_STUDIO_URL, else http://127.0.0.1:8080. The token is read from
--token-file, else $LABEL_STUDIO_API_KEY, else the credentials file of the local data dir; it is
never taken from a config, logged or printed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from rasid.articles import Article, read_articles, write_articles
from rasid.errors import RasidConfigError, RasidError
from rasid.io import atomic_write
from rasid.labelstudio.config import config_differences, labeling_config
from rasid.labelstudio.server import PROJECT_ROOT
from rasid.schema import Schema, load_schema

__all__ = ["run", "RasidLabelStudioError", "ACTIONS", "DEFAULT_URL", "default_data_dir", "resolve_url", "resolve_token",
           "model_version_of", "seed_articles", "NEXT_VIEW_TITLE"]

log = logging.getLogger(__name__)

ACTIONS = ("config", "create", "import", "predict", "export", "next", "up", "down")
DEFAULT_URL = "http://127.0.0.1:8080"
URL_ENV = "LABEL_STUDIO_URL"
TOKEN_ENV = "LABEL_STUDIO_API_KEY"
CREDENTIALS_NAME = ".rasid-credentials"
PID_NAME = "server.pid"
NEXT_VIEW_TITLE = "rasid: next to annotate"
DEFAULT_TITLE = "rasid"


class RasidLabelStudioError(RasidError):
    """The server cannot be reached, refused the token, or lacks the project."""


# ---------------------------------------------------------------------------------------------
# where the server is and how to log in


def default_data_dir() -> Path:
    """The local server's data dir: $RASID_LS_DATA or <project>/.labelstudio (gitignored)."""
    return Path(os.environ.get("RASID_LS_DATA") or PROJECT_ROOT / ".labelstudio")


def resolve_url(url: str | None) -> str:
    return (url or os.environ.get(URL_ENV) or DEFAULT_URL).rstrip("/")


def resolve_token(token_file: str | None) -> str:
    """--token-file, else $LABEL_STUDIO_API_KEY, else the local server's credentials file."""
    if token_file:
        return _token_from_file(Path(token_file))
    if os.environ.get(TOKEN_ENV):
        return os.environ[TOKEN_ENV].strip()
    default = default_data_dir() / CREDENTIALS_NAME
    if default.exists():
        return _token_from_file(default)
    raise RasidLabelStudioError(
        f"no Label Studio token: set {TOKEN_ENV}, pass --token-file, or start a local server with `make labelstudio` (it writes {default})"
    )


def _token_from_file(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as exc:
        raise RasidLabelStudioError(f"cannot read the token file {path}: {exc.strerror}") from None
    if not lines:
        raise RasidLabelStudioError(f"the token file {path} is empty")
    return lines[0]  # a credentials file holds the token first, then the admin password


def _how_to_start(url: str) -> str:
    return f"start one with `make labelstudio` (or `rasid labelstudio up`), or point --url / ${URL_ENV} at a running server"


@contextlib.contextmanager
def _talking_to(url: str, project: int | None = None) -> Iterator[None]:
    """SDK and network failures as one readable line (never the SDK's repr: it carries cookies)."""
    import httpx
    from label_studio_sdk.core.api_error import ApiError

    try:
        yield
    except ApiError as exc:
        detail = _api_detail(exc.body)
        if exc.status_code in (401, 403):
            raise RasidLabelStudioError(
                f"Label Studio at {url} refused the token ({exc.status_code}{': ' + detail if detail else ''}); "
                f"set {TOKEN_ENV} or --token-file to a valid token (Account & Settings > Access token)"
            ) from None
        if exc.status_code == 404 and project is not None:
            raise RasidLabelStudioError(f"Label Studio project {project} not found at {url} ({detail or 'not found'})") from None
        raise RasidLabelStudioError(f"Label Studio at {url} answered {exc.status_code}: {detail or 'no detail'}") from None
    except httpx.TransportError as exc:
        raise RasidLabelStudioError(f"cannot reach Label Studio at {url} ({type(exc).__name__}); {_how_to_start(url)}") from None


def _api_detail(body) -> str:
    """Label Studio's own words: `detail`, and for a 400 which field was wrong."""
    if not isinstance(body, dict):
        return str(body)[:300] if body else ""
    detail = str(body.get("detail") or "")
    errors = body.get("validation_errors")
    if errors:
        detail += (": " if detail else "") + json.dumps(errors, ensure_ascii=False)[:300]
    return detail or json.dumps(body, ensure_ascii=False)[:300]


def _connect(args) -> tuple[object, str]:
    """A client that has shown the server is there and the token is good."""
    from rasid.labelstudio.client import connect

    url = resolve_url(args.url)
    token = resolve_token(args.token_file)
    with _talking_to(url):
        ls = connect(url, token)
        ls.users.whoami()
    return ls, url


def _check_project(ls, url: str, project: int, schema: Schema) -> None:
    from rasid.labelstudio.client import check_project

    with _talking_to(url, project):
        check_project(ls, project, schema)


# ---------------------------------------------------------------------------------------------
# models


def model_version_of(model: Path) -> str:
    """`<run or bundle name>-<8 hex>`: the hash covers the weights and the schema, so a retrained
    model gets a new version even in the same folder."""
    model = Path(model)
    digest = hashlib.sha256()
    files = sorted(p for p in model.rglob("*") if p.is_file() and (p.suffix in (".safetensors", ".onnx") or p.name in ("schema.yaml", "manifest.json")))
    if not files:
        raise RasidConfigError(f"{model}: no weights (*.safetensors, *.onnx) to name a model version by")
    for path in files:
        digest.update(str(path.relative_to(model)).encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return f"{model.resolve().name}-{digest.hexdigest()[:8]}"


def _load_model(model: str):
    from rasid.predictor import load_predictor

    path = Path(model)
    predictor = load_predictor(path)
    return predictor, model_version_of(path)


def _predict(predictor, articles: list[Article], batch_size: int) -> list[Article]:
    out: list[Article] = []
    for i in range(0, len(articles), batch_size):
        batch = [Article(a.id, a.text, [], [], a.meta) for a in articles[i : i + batch_size]]
        out.extend(predictor.predict(batch))
        log.info("predicted %d/%d articles", len(out), len(articles))
    return out


# ---------------------------------------------------------------------------------------------
# actions


def cmd_config(args) -> int:
    sys.stdout.write(labeling_config(load_schema(args.schema)))
    return 0


def cmd_create(args) -> int:
    from rasid.labelstudio.client import create_project

    schema = load_schema(args.schema)
    ls, url = _connect(args)
    if args.project is None:
        with _talking_to(url):
            project = create_project(ls, schema, args.title, args.description)
        print(f"created project {project} ({args.title!r}): {url}/projects/{project}/data")
        return 0
    with _talking_to(url, args.project):
        old = ls.projects.get(id=args.project).label_config
        changes = config_differences(schema, old)
        # Label Studio itself refuses (400) a config that drops labels its annotations use
        ls.projects.update(id=args.project, label_config=labeling_config(schema))
    print(f"updated the labeling config of project {args.project}" + (": " + "; ".join(changes) if changes else " (labels unchanged)"))
    return 0


def cmd_import(args) -> int:
    from rasid.labelstudio.client import import_articles

    articles = list(read_articles(args.input))
    if not articles:
        raise RasidConfigError(f"{args.input}: no articles to import")
    schema = load_schema(args.schema)
    ls, url = _connect(args)
    version = None
    if args.model:
        predictor, version = _load_model(args.model)
        schema = predictor.schema
        _check_project(ls, url, args.project, schema)
        dropped = sum(len(a.entities) for a in articles)
        if dropped:
            log.warning("%s: the input's own %d entities are replaced by the model's predictions", args.input, dropped)
        articles = _predict(predictor, articles, args.batch_size)
    else:
        _check_project(ls, url, args.project, schema)
    as_predictions = bool(args.model) or args.as_predictions
    with _talking_to(url, args.project):
        task_ids = import_articles(ls, args.project, articles, schema, as_predictions=as_predictions, model_version=version or args.model_version)
        if as_predictions:
            _show_predictions_of(ls, args.project, version or args.model_version)
    what = f"with predictions of {version}" if version else ("with their spans as predictions" if as_predictions else "")
    print(f"imported {len(task_ids)} tasks into project {args.project} {what}".rstrip() + f": {url}/projects/{args.project}/data")
    return 0


def _show_predictions_of(ls, project: int, version: str | None) -> None:
    """Make the editor pre-fill annotations from this model version (the project shows one at a time)."""
    if version:
        ls.projects.update(id=project, model_version=version, show_collab_predictions=True)


def _project_tasks(ls, project: int) -> list:
    return list(ls.tasks.list(project=project, fields="all", page_size=100))


def _unannotated(tasks: list) -> list:
    return [t for t in tasks if not (t.total_annotations or 0)]


def _task_article(task) -> Article:
    data = dict(task.data or {})
    text = data.pop("text", None)
    if not isinstance(text, str):
        raise RasidConfigError(f"task {task.id} has no 'text' field; was it imported by rasid?")
    article_id = str(data.pop("id", None) or f"ls-{task.id}")
    return Article(article_id, text, [], [], data or None)


def cmd_predict(args) -> int:
    from rasid.labelstudio.convert import articles_to_tasks

    ls, url = _connect(args)
    predictor, version = _load_model(args.model)
    _check_project(ls, url, args.project, predictor.schema)
    with _talking_to(url, args.project):
        tasks = _project_tasks(ls, args.project)
    if not args.all:
        tasks = _unannotated(tasks)
    if not tasks:
        print(f"project {args.project} has no tasks to predict")
        return 0
    predicted = _predict(predictor, [_task_article(t) for t in tasks], args.batch_size)
    with _talking_to(url, args.project):
        for task, built in zip(tasks, articles_to_tasks(predicted, predictor.schema, as_predictions=True, model_version=version)):
            prediction = built["predictions"][0]
            ls.predictions.create(task=task.id, result=prediction["result"], score=prediction.get("score"), model_version=version)
        _show_predictions_of(ls, args.project, version)
    print(f"added predictions of {version} to {len(tasks)} tasks of project {args.project}: {url}/projects/{args.project}/data")
    return 0


def cmd_export(args) -> int:
    from rasid.labelstudio.client import export_json
    from rasid.labelstudio.convert import export_to_articles

    schema = load_schema(args.schema)
    ls, url = _connect(args)
    _check_project(ls, url, args.project, schema)
    with _talking_to(url, args.project):
        tasks = export_json(ls, args.project)
    articles = export_to_articles(tasks, schema, annotation=args.annotation, source_path=f"{url}/projects/{args.project}")
    write_articles(args.output, articles)
    skipped = len(tasks) - len(articles)
    print(f"wrote {len(articles)} annotated articles from project {args.project} to {args.output}"
          + (f" ({skipped} tasks without a completed annotation left out)" if skipped else ""))
    return 0


def cmd_next(args) -> int:
    from rasid.labelstudio.active import most_uncertain, score_articles

    ls, url = _connect(args)
    predictor, version = _load_model(args.model)
    _check_project(ls, url, args.project, predictor.schema)
    with _talking_to(url, args.project):
        tasks = _unannotated(_project_tasks(ls, args.project))
    if not tasks:
        print(f"project {args.project} has no unannotated tasks")
        return 0
    articles = [_task_article(t) for t in tasks]
    task_of = {a.id: t.id for a, t in zip(articles, tasks)}
    scored = score_articles(predictor, articles, strategy=args.strategy, relation_weight=args.relation_weight, batch_size=args.batch_size)
    chosen = most_uncertain([u for _, u in scored], args.count)
    rows = [{"rank": i + 1, "task_id": task_of[u.article_id], **u.to_dict(), "strategy": args.strategy, "model_version": version}
            for i, u in enumerate(chosen)]
    if args.output:
        with atomic_write(Path(args.output)) as handle:
            handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    for row in rows:
        print(f"{row['rank']}\ttask {row['task_id']}\t{row['article_id']}\t{row['score']:.4f}")
    if not args.no_view:
        with _talking_to(url, args.project):
            view = _replace_next_view(ls, args.project, [row["task_id"] for row in rows], f"{version}, {args.strategy}")
        print(f"Label Studio tab {NEXT_VIEW_TITLE!r} holds these {len(rows)} tasks: {url}/projects/{args.project}/data?tab={view}"
              " (open it and press 'Label All Tasks')", file=sys.stderr)
    return 0


def _replace_next_view(ls, project: int, task_ids: list[int], note: str) -> int:
    """One Data Manager tab with exactly the chosen tasks, replacing the previous pick."""
    for view in ls.views.list(project=project):
        title = (view.data or {}).get("title", "") if isinstance(view.data, dict) else ""
        if title.startswith(NEXT_VIEW_TITLE):
            ls.views.delete(id=view.id)
    filters = {
        "conjunction": "or",
        "items": [{"filter": "filter:tasks:id", "operator": "equal", "type": "Number", "value": task_id} for task_id in task_ids],
    }
    data = {"title": f"{NEXT_VIEW_TITLE} ({note})", "filters": filters, "ordering": ["tasks:id"]}
    return ls.views.create(project=project, data=data).id


# ---------------------------------------------------------------------------------------------
# the local server


def seed_articles(count: int, root: Path = PROJECT_ROOT) -> list[Article]:
    """Articles worth annotating first, text and meta only: gold-selection articles of the train
    split that nobody has annotated yet (never test or dev), topped up with NewsFANE dev texts."""
    gold = root / "data" / "gold"
    selection, splits = gold / "selection.jsonl", gold / "splits.yaml"
    picked: list[Article] = []
    if selection.exists() and splits.exists():
        import yaml

        train = set(yaml.safe_load(splits.read_text(encoding="utf-8")).get("train") or [])
        done = {p.stem for p in (gold / "annotations").rglob("*.yaml")} if (gold / "annotations").exists() else set()
        for name in ("train.jsonl", "dev.jsonl", "test.jsonl"):
            if (gold / name).exists():
                done |= {a.id for a in read_articles(gold / name)}
        picked = [Article(a.id, a.text, [], [], a.meta) for a in read_articles(selection) if a.id in train and a.id not in done][:count]
        log.info("seeding with %d unannotated train-split articles of %s", len(picked), selection)
    fallback = root / "data" / "newsfane" / "dev.jsonl"
    if len(picked) < count and fallback.exists():
        more = [Article(a.id, a.text, [], [], a.meta) for a in read_articles(fallback)][: count - len(picked)]
        log.info("and %d articles of %s", len(more), fallback)
        picked += more
    if not picked:
        raise RasidConfigError(f"no articles to seed the project with: neither {selection} nor {fallback} has any")
    return picked


def _pid_alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def cmd_up(args) -> int:
    from rasid.labelstudio.client import connect, create_project, import_articles
    from rasid.labelstudio.server import LabelStudioServer

    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    pid_file = data_dir / PID_NAME
    url = f"http://127.0.0.1:{args.port}"
    server = None
    if pid_file.exists() and _pid_alive(int(pid_file.read_text().split()[0])) and _healthy(url):
        print(f"Label Studio is already running at {url} (data in {data_dir}; `rasid labelstudio down` stops it)")
    else:
        server = LabelStudioServer(data_dir=data_dir, port=args.port).start()
        pid_file.write_text(f"{server._process.pid}\n")
        print(f"Label Studio started at {url} in {server.startup_seconds:.0f} s (log: {server.log_path})")
    try:
        token = _token_from_file(data_dir / CREDENTIALS_NAME)
        schema = load_schema(args.schema)
        with _talking_to(url):
            ls = connect(url, token)
            existing = [p for p in ls.projects.list() if p.title == args.title]
        if existing:
            project = existing[0].id
            _check_project(ls, url, project, schema)
            print(f"project {project} ({args.title!r}) already exists; nothing imported")
        else:
            with _talking_to(url):
                project = create_project(ls, schema, args.title, "rasid: entities and relations of Arabic conflict news")
            articles = seed_articles(args.count) if not args.input else list(read_articles(args.input))[: args.count]
            model = Path(args.model) if args.model else PROJECT_ROOT / "runs" / "default"
            version = None
            if (model / "config.yaml").exists() or (model / "manifest.json").exists():
                predictor, version = _load_model(str(model))
                articles = _predict(predictor, articles, 8)
            elif args.model:
                raise RasidConfigError(f"{model}: neither a run folder nor a bundle")
            else:
                log.info("no model in %s: tasks are imported without pre-annotations", model)
            with _talking_to(url, project):
                imported = import_articles(ls, project, articles, schema, as_predictions=version is not None, model_version=version)
                _show_predictions_of(ls, project, version)
            print(f"project {project} ({args.title!r}) created with {len(imported)} tasks"
                  + (f", pre-annotated by {version}" if version else " (no model in runs/default: no pre-annotations)"))
        print(f"\n  open      {url}/projects/{project}/data\n  log in    admin@rasid.local, password on line 2 of {data_dir / CREDENTIALS_NAME}"
              f"\n  API token line 1 of the same file (rasid reads it from there by default)"
              f"\n  export    .venv/bin/rasid labelstudio export --project {project} --output data/labelstudio/annotations.jsonl\n", flush=True)
        if server is None or args.detach:
            if server is not None:
                print(f"detached; stop it with `rasid labelstudio down` (pid in {pid_file})")
            return 0
        print("serving until Ctrl-C", flush=True)
        while server._process is not None and server._process.poll() is None:
            time.sleep(1)
        raise RasidLabelStudioError(f"Label Studio exited unexpectedly; see {server.log_path}")
    except KeyboardInterrupt:
        print("stopping Label Studio", file=sys.stderr)
        return 0
    except BaseException:
        if server is not None and args.detach:
            server.stop()  # a half-set-up detached server would be left for nobody
            pid_file.unlink(missing_ok=True)
        raise
    finally:
        if server is not None and not args.detach:
            server.stop()
            pid_file.unlink(missing_ok=True)


def cmd_down(args) -> int:
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    pid_file = data_dir / PID_NAME
    if not pid_file.exists():
        print(f"no detached Label Studio recorded in {pid_file}")
        return 0
    pid = int(pid_file.read_text().split()[0])
    if _pid_alive(pid):
        os.killpg(pid, signal.SIGTERM)
        for _ in range(30):
            if not _pid_alive(pid):
                break
            time.sleep(0.5)
        else:
            os.killpg(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    print(f"stopped Label Studio (process group {pid})")
    return 0


# ---------------------------------------------------------------------------------------------
# argument parsing


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rasid labelstudio", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-v", "--verbose", action="store_true", help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    def server_args(s: argparse.ArgumentParser, project: bool = True) -> None:
        s.add_argument("--url", default=None, help=f"Label Studio URL (default: ${URL_ENV} or {DEFAULT_URL})")
        s.add_argument("--token-file", default=None,
                       help=f"file whose first line is the API token (default: ${TOKEN_ENV}, else {CREDENTIALS_NAME} of the local data dir)")
        if project:
            s.add_argument("--project", type=int, required=True, help="project id (the number in its URL)")

    s = sub.add_parser("config", help="print the labeling config XML generated from the schema")
    s.add_argument("--schema", default=None, help="schema YAML (default: configs/schema.yaml)")
    s.set_defaults(handler=cmd_config)

    s = sub.add_parser("create", help="create a project from the schema, or update the labeling config of --project")
    server_args(s, project=False)
    s.add_argument("--project", type=int, default=None, help="update this project's labeling config instead of creating one")
    s.add_argument("--title", default=DEFAULT_TITLE)
    s.add_argument("--description", default="")
    s.add_argument("--schema", default=None)
    s.set_defaults(handler=cmd_create)

    s = sub.add_parser("import", help="import article JSONL as tasks; --model adds its predictions as pre-annotations")
    server_args(s)
    s.add_argument("--input", required=True, help="article JSONL (id, text, optional entities/relations/meta)")
    s.add_argument("--model", default=None, help="run folder or bundle whose predictions become pre-annotations")
    s.add_argument("--as-predictions", action="store_true", help="without --model: import the input's own spans as predictions, not annotations")
    s.add_argument("--model-version", default=None, help="with --as-predictions: the model version to show (default: rasid)")
    s.add_argument("--batch-size", type=int, default=8)
    s.add_argument("--schema", default=None)
    s.set_defaults(handler=cmd_import)

    s = sub.add_parser("predict", help="add a model's predictions to the project's unannotated tasks (--all: every task)")
    server_args(s)
    s.add_argument("--model", required=True)
    s.add_argument("--all", action="store_true", help="annotated tasks too")
    s.add_argument("--batch-size", type=int, default=8)
    s.set_defaults(handler=cmd_predict)

    s = sub.add_parser("export", help="export the project's annotations as article JSONL, ready for `rasid train`")
    server_args(s)
    s.add_argument("--output", required=True, help="article JSONL to write")
    s.add_argument("--annotation", default="latest", help="which annotation of a task: latest | first | a user id")
    s.add_argument("--schema", default=None)
    s.set_defaults(handler=cmd_export)

    from rasid.labelstudio.active import STRATEGIES

    s = sub.add_parser("next", help="pick the unannotated tasks the model is least sure about (see docs/labelstudio.md)")
    server_args(s)
    s.add_argument("--model", required=True, help="run folder or bundle")
    s.add_argument("--count", type=int, default=20)
    s.add_argument("--strategy", choices=STRATEGIES, default="entropy")
    s.add_argument("--relation-weight", type=float, default=1.0, help="weight of the relation term (0: entities only)")
    s.add_argument("--output", default=None, help="JSONL of the picks (rank, task_id, article_id, score and its parts)")
    s.add_argument("--no-view", action="store_true", help="don't (re)create the Label Studio tab with the picks")
    s.add_argument("--batch-size", type=int, default=8)
    s.set_defaults(handler=cmd_next)

    s = sub.add_parser("up", help="start a local Label Studio with a project seeded from data/gold (make labelstudio)")
    s.add_argument("--port", type=int, default=8080)
    s.add_argument("--data-dir", default=None, help="server data (default: .labelstudio/)")
    s.add_argument("--title", default=DEFAULT_TITLE)
    s.add_argument("--count", type=int, default=20, help="articles to seed a new project with")
    s.add_argument("--input", default=None, help="seed from this article JSONL instead of data/gold")
    s.add_argument("--model", default=None, help="pre-annotate with this run or bundle (default: runs/default when it exists)")
    s.add_argument("--schema", default=None)
    s.add_argument("--detach", action="store_true", help="leave the server running and return (stop it with `down`)")
    s.set_defaults(handler=cmd_up)

    s = sub.add_parser("down", help="stop the server `up --detach` started")
    s.add_argument("--data-dir", default=None)
    s.set_defaults(handler=cmd_down)
    return p


def run(args, extra: list[str]) -> int:
    """Entry from `rasid labelstudio`: `args.action` and the rest of the command line in `extra`."""
    parser = build_parser()
    action = getattr(args, "action", None)
    if action in (None, "help"):
        parser.print_help()
        return 0
    if action not in ACTIONS:
        raise RasidError(f"unknown labelstudio action {action!r}; choose one of {', '.join(ACTIONS)}")
    ns = parser.parse_args([action, *extra])
    if ns.verbose:
        logging.getLogger().setLevel(logging.DEBUG)
    # httpx logs every request at INFO; the URLs are harmless but drown the command's own lines
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return ns.handler(ns)
