"""Commands of the serving package: `hardtofill serve` and `hardtofill keys create | revoke | list`."""

import os
import subprocess
import sys

import typer
from rich.console import Console

console = Console(stderr=True)
keys_app = typer.Typer(help="API keys of the client dashboards (only their hashes are stored).",
                       no_args_is_help=True)
LOCAL_KEY_NAME = "local"


def _store():
    """The prediction store, its schema upgraded to this code's latest revision (serving.migrate)."""
    from hardtofill.settings import get_settings
    from serving.migrate import StoreSchemaError
    from serving.store import PredictionStore

    try:
        return PredictionStore(get_settings().store_url)
    except StoreSchemaError as problem:
        console.print(f"[red]store: {problem}[/red]")
        raise typer.Exit(1) from None


def _valid_name(name: str) -> str:
    import re

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
        console.print(f"[red]keys: name {name!r} must be 1 to 64 letters, digits, '.', '_' or '-' "
                      "(a dashboard or an agency, never a person's name)[/red]")
        raise typer.Exit(2)
    return name


@keys_app.command("create")
def create_key(name: str = typer.Argument(..., help="Which client dashboard the key is for.")) -> None:
    """Create a key: it is printed once, alone on the last line; only its hash is stored."""
    from serving.keys import hash_key, new_key

    key = new_key()
    try:
        _store().add_api_key(_valid_name(name), hash_key(key))
    except ValueError as error:
        console.print(f"[red]keys create: {error}[/red]")
        raise typer.Exit(1) from None
    console.print(f"API key '{name}' created. Keep it now: it cannot be shown again. Send it as "
                  "'Authorization: Bearer <key>'.")
    print(key, flush=True)


@keys_app.command("revoke")
def revoke_key(name: str = typer.Argument(..., help="The key's name.")) -> None:
    """End a key: requests that carry it get 401 from then on."""
    if not _store().revoke_api_key(_valid_name(name)):
        console.print(f"[red]keys revoke: no active key named {name!r}[/red]")
        raise typer.Exit(1)
    console.print(f"API key '{name}' revoked.")


@keys_app.command("list")
def list_keys() -> None:
    """Names and dates of the keys (never the keys, never their hashes)."""
    frame = _store().api_keys()
    if frame.empty:
        console.print("No API key yet: `hardtofill keys create NAME`.")
        return
    for row in frame.itertuples(index=False):
        state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at is not None else "active"
        print(f"{row.name}\tcreated {row.created_at:%Y-%m-%d %H:%M}\t{state}")


def _champion_problem() -> str | None:
    from training.champion import ChampionUnavailable, load_champion

    try:
        load_champion()
    except ChampionUnavailable as reason:
        return str(reason)
    return None


def serve(
    host: str = typer.Option(None, "--host", help="[default: HARDTOFILL_HOST, 127.0.0.1]"),
    port: int = typer.Option(None, "--port", help="[default: HARDTOFILL_PORT, 3000]"),
    no_train: bool = typer.Option(False, "--no-train", help="Do not train when there is no champion."),
) -> None:
    """Serve the champion to advisers' dashboards: trains first when there is no champion, creates a
    local API key on the first run, then runs the BentoML service."""
    from hardtofill.params import ParamsError
    from hardtofill.settings import get_settings
    from serving.scoring import ServingParams

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    try:  # refuse bad serving parameters here, in one line, rather than in the service's start-up
        ServingParams.load()
    except (ParamsError, ValueError, TypeError) as problem:
        console.print(f"[red]serve: {problem}[/red]")
        raise typer.Exit(2) from None

    problem = _champion_problem()
    if problem is not None and not no_train:
        console.print(f"No champion ({problem}): generating the history if needed and training one...")
        trained = subprocess.run([sys.executable, "-m", "hardtofill", "train"], env=os.environ.copy())
        if trained.returncode != 0:
            console.print("[red]serve: training did not produce a champion (see above); the service would "
                          "not be ready. Fix that, or run with --no-train to serve without a model.[/red]")
            raise typer.Exit(1)
        problem = _champion_problem()
    if problem is not None:
        console.print(f"[yellow]No champion: {problem}. The service starts but stays not ready.[/yellow]")

    store = _store()
    if not store.active_key_hashes():
        from serving.keys import hash_key, new_key

        key = new_key()
        store.add_api_key(LOCAL_KEY_NAME, hash_key(key))
        console.print(f"First run: created the API key '{LOCAL_KEY_NAME}' for the dashboard (shown once, "
                      "only its hash is kept; `hardtofill keys create NAME` for more):")
        print(key, flush=True)
    store.close()

    base = f"http://{host}:{port}"
    console.print(f"Dashboard: {base}/dashboard\nAPI docs:  {base}/  (OpenAPI: {base}/docs.json)\n"
                  f"Metrics:   {base}/metrics   Readiness: {base}/readyz   Model card: {base}/model_card")
    command = [sys.executable, "-m", "bentoml", "serve", "serving.service:HardToFill",
               "--host", host, "--port", str(port)]
    env = os.environ.copy()
    env.setdefault("OMP_NUM_THREADS", "1")  # LightGBM's threads, per request (serving.lightgbm_threads)
    try:
        raise typer.Exit(subprocess.run(command, env=env).returncode)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.add_typer(keys_app, name="keys")
