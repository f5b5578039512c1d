"""The ``embedplug hello`` command, added through the ``register_commands`` hook."""

from __future__ import annotations

import click


@click.command()
@click.argument("texts", nargs=-1, required=True)
@click.option("-m", "--model", default="toy-64", show_default=True, help="toy-64 or toy-256.")
@click.option("--seed", default=0, show_default=True, help="Picks another hash function.")
def hello(texts: tuple[str, ...], model: str, seed: int) -> None:
    """Embed TEXTS with the toy hashing provider and print their cosine similarities."""
    import embedplug

    try:
        with embedplug.embedder(f"hello:{model}", seed=seed) as toy:
            vectors = toy.embed(list(texts)).embeddings
    except embedplug.EmbedplugError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{len(texts)} texts -> {vectors.shape[1]}-d toy vectors (model {model})")
    similarities = vectors @ vectors.T
    for i, text in enumerate(texts):
        row = " ".join(f"{similarities[i, j]:+.2f}" for j in range(len(texts)))
        click.echo(f"{row}  {text}")
