"""Small builders that keep tests short."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from custom_classifier.corpus.models import Document, Split

if TYPE_CHECKING:
    from custom_classifier.registry import Registry

FROZEN_LEARNING_RATE = 1e-30
"""The smallest step the training options accept that changes no float32 weight: training runs
but the model stays as it was, so its validation score never improves (nor reaches perfect)."""


def make_labeled_folder(
    tmp_path: Path, documents: dict[str, list[str]], *, name: str = "corpus"
) -> Path:
    """A folder with one sub-folder per label and one `.txt` file per text; returns its root."""
    root = tmp_path / name
    for label, texts in documents.items():
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        for index, text in enumerate(texts):
            (folder / f"doc_{index:04d}.txt").write_text(text, encoding="utf-8")
    root.mkdir(parents=True, exist_ok=True)
    return root


def distinct_texts(prefix: str, count: int) -> list[str]:
    """`count` different texts, each long enough to be kept by the corpus reader."""
    return [
        f"{prefix} document number {index} with enough words to be kept" for index in range(count)
    ]


def write_pdf(path: Path, text: str, *, password: str | None = None) -> Path:
    """A one-page PDF showing `text` (one line); encrypted with `password` when given."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=612, height=792)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    fonts = DictionaryObject({NameObject("/F1"): writer._add_object(font)})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    content = DecodedStreamObject()
    content.set_data(f"BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET".encode("latin-1"))
    page[NameObject("/Contents")] = writer._add_object(content)
    if password is not None:
        writer.encrypt(user_password=password, algorithm="AES-128")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as stream:
        writer.write(stream)
    return path


def write_docx(path: Path, paragraphs: list[str], table: list[list[str]] | None = None) -> Path:
    """A DOCX with the given paragraphs and, optionally, one table of rows of cells."""
    import docx

    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for row, cells in zip(grid.rows, table, strict=True):
            for cell, value in zip(row.cells, cells, strict=True):
                cell.text = value
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def write_eml(path: Path, subject: str, body: str | None = None, html: str | None = None) -> Path:
    """An e-mail file with a plain body, an HTML body, or both (multipart/alternative)."""
    message = EmailMessage()
    message["From"] = "alice@example.com"
    message["To"] = "bob@example.com"
    message["Subject"] = subject
    if body is not None:
        message.set_content(body)
        if html is not None:
            message.add_alternative(html, subtype="html")
    elif html is not None:
        message.set_content(html, subtype="html")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(message.as_bytes())
    return path


def write_html(path: Path, body: str, *, title: str = "Page") -> Path:
    """An HTML page whose body is `body`, with a script and a style that must not be read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"<html><head><title>{title}</title><style>p {{ color: red; }}</style>"
        f"<script>var hidden = 'script text';</script></head>"
        f"<body><p>{body}</p></body></html>",
        encoding="utf-8",
    )
    return path


# --- training and inference -------------------------------------------------------------------

TOPIC_WORDS = {
    "sport": (
        "football goal match team player coach league score stadium referee tennis "
        "basketball striker tournament champion season"
    ).split(),
    "finance": (
        "bank market stock bond interest investor profit revenue dividend inflation "
        "loan budget shares trading economy currency"
    ).split(),
    "cooking": (
        "recipe oven flour sugar butter garlic onion pasta sauce bake boil kitchen "
        "salt pepper dough soup"
    ).split(),
}


def make_tiny_base_model(path: Path) -> Path:
    """A randomly initialised 2-layer BERT (hidden size 32) saved with the bundled tokenizer."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from custom_classifier.config import bundled_base_model

    tokenizer = AutoTokenizer.from_pretrained(bundled_base_model())
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=512,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


DecoderFamily = Literal["llama", "qwen3"]


def load_without_dropout(path: Path, labels: list[str], **options: Any) -> tuple[Any, Any]:
    """`load_base_model(path, labels, attention_dropout=0.0, **options)` with every dropout
    off: steps whose losses and gradients a test compares exactly."""
    import torch

    from custom_classifier.training.backbones import load_base_model

    tokenizer, model = load_base_model(str(path), labels, attention_dropout=0.0, **options)
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    return tokenizer, model


def make_tiny_decoder(path: Path, family: DecoderFamily = "llama") -> Path:
    """A randomly initialised 2-layer decoder LLM (Llama or Qwen3 architecture, hidden size 32)
    saved as a causal LM with a word-level tokenizer of the topic words that, like Llama's, adds
    a beginning-of-sequence token and has no pad token."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import (
        LlamaConfig,
        LlamaForCausalLM,
        PreTrainedTokenizerFast,
        Qwen3Config,
        Qwen3ForCausalLM,
    )

    words = sorted({word for topic in TOPIC_WORDS.values() for word in topic})
    vocab = {token: i for i, token in enumerate(["<unk>", "<s>", "</s>", *words])}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", vocab["<s>"])]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )
    sizes = {
        "vocab_size": len(vocab),
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 512,
        "bos_token_id": vocab["<s>"],
        "eos_token_id": vocab["</s>"],
        "pad_token_id": None,
    }
    torch.manual_seed(0)
    if family == "llama":
        LlamaForCausalLM(LlamaConfig(**sizes)).save_pretrained(path)
    else:
        Qwen3ForCausalLM(Qwen3Config(head_dim=8, **sizes)).save_pretrained(path)
    fast.save_pretrained(path)
    return path


def make_topic_documents(
    counts: dict[str, int], *, words: int = 12, seed: int = 0, prefix: str = "doc"
) -> list[Document]:
    """`counts[label]` documents per label, each `words` words drawn from that label's topic."""
    import random

    rng = random.Random(seed)
    return [
        Document(
            id=f"{prefix}/{label}/{index}.txt",
            label=label,
            text=" ".join(rng.choices(TOPIC_WORDS[label], k=words)),
        )
        for label, count in counts.items()
        for index in range(count)
    ]


def make_topic_split(
    labels: list[str], *, train: int = 12, validation: int = 4, test: int = 4, words: int = 12
) -> Split:
    """A split of topic documents with `train`/`validation`/`test` documents per label."""
    return Split(
        train=make_topic_documents(
            dict.fromkeys(labels, train), words=words, seed=1, prefix="train"
        ),
        validation=make_topic_documents(
            dict.fromkeys(labels, validation), words=words, seed=2, prefix="val"
        ),
        test=make_topic_documents(dict.fromkeys(labels, test), words=words, seed=3, prefix="test"),
    )


def make_tiny_classifier(
    path: Path,
    base_model: Path,
    labels: list[str],
    *,
    max_length: int = 32,
    long_document_strategy: str = "head",
    chunk_stride: int = 8,
) -> Path:
    """An untrained classifier folder as `fine_tune` writes it, built from a tiny base model."""
    import json

    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(
        base_model,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    model.save_pretrained(path)
    AutoTokenizer.from_pretrained(base_model).save_pretrained(path)
    settings = {
        "labels": labels,
        "max_length": max_length,
        "long_document_strategy": long_document_strategy,
        "chunk_stride": chunk_stride,
    }
    (path / "classifier.json").write_text(json.dumps(settings), encoding="utf-8")
    return path


# --- registry ---------------------------------------------------------------------------------

TINY_LABELS = ["ham", "spam"]


def log_classifier_run(
    registry: Registry,
    model_dir: Path,
    *,
    owner: str | None = "alice",
    name: str = "spam-filter",
    metrics: dict[str, float] | None = None,
) -> str:
    """A finished run of `registry` holding the model `model_dir`; returns its run id."""
    with registry.start_run(owner, name, {"cc.labels": ",".join(TINY_LABELS)}) as run:
        run.log_metrics(metrics or {"test_macro_f1": 0.9, "test_accuracy": 0.92})
        run.log_classifier_model(model_dir)
    return str(run.run_id)


def open_run(registry: Registry, job_id: str, *, owner: str = "alice") -> str:
    """A RUNNING run of the job `job_id`, as a worker that died leaves it; returns its id."""
    from mlflow import MlflowClient

    client = MlflowClient(registry.tracking_uri)
    name = f"cc/{owner}"
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        location = Path(str(registry.artifact_root), name).resolve().as_uri()
        experiment_id = client.create_experiment(name, artifact_location=location)
    else:
        experiment_id = experiment.experiment_id
    tags = {"cc.job_id": job_id, "cc.owner": owner, "cc.classifier": "spam-filter"}
    return str(client.create_run(experiment_id, tags=tags).info.run_id)


# --- REST API ---------------------------------------------------------------------------------


def make_zip(path: Path, files: dict[str, str | bytes]) -> Path:
    """A zip holding `files` (archive name -> content); returns its path."""
    import zipfile

    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, content in files.items():
            bundle.writestr(name, content)
    return path


def topic_folder_files(counts: dict[str, int], *, words: int = 12, seed: int = 0) -> dict[str, str]:
    """`<label>/doc_NNNN.txt` -> text, for `make_zip` or a labeled folder of topic documents."""
    documents = make_topic_documents(counts, words=words, seed=seed)
    per_label: dict[str, int] = {}
    files = {}
    for document in documents:
        index = per_label[document.label] = per_label.get(document.label, -1) + 1
        files[f"{document.label}/doc_{index:04d}.txt"] = document.text
    return files


def make_topic_folder(root: Path, counts: dict[str, int], *, name: str = "topics") -> Path:
    """A labeled folder of topic documents (see `TOPIC_WORDS`) under `root`; returns it."""
    for relative, text in topic_folder_files(counts).items():
        path = root / name / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / name


def api_headers(app: object, username: str, *, is_admin: bool = False) -> dict[str, str]:
    """Create a user in a started app (`TestClient` entered) and return its auth headers."""
    from custom_classifier.services import users

    runtime = app.state.runtime  # type: ignore[attr-defined]
    with runtime.databases.admin.session() as session:
        if users.users.find_user(session, username) is None:
            users.create_user(session, username, is_admin=is_admin)
        key = users.create_api_key(session, username).key
    return {"Authorization": f"Bearer {key}"}


def make_multilabel_documents(
    counts: dict[tuple[str, ...], int], *, words: int = 12, seed: int = 0, prefix: str = "doc"
) -> list[Document]:
    """`counts[labels]` documents carrying `labels`, each `words` words drawn from those
    labels' topics in turn (a document of two labels talks of both)."""
    import random

    rng = random.Random(seed)
    documents = []
    for labels, count in counts.items():
        for index in range(count):
            drawn = [rng.choice(TOPIC_WORDS[labels[i % len(labels)]]) for i in range(words)]
            documents.append(
                Document(
                    id=f"{prefix}/{'+'.join(labels)}/{index}.txt",
                    label=labels[0],
                    text=" ".join(drawn),
                    labels=labels,
                )
            )
    return documents


def make_multilabel_split(
    labels: list[str], *, train: int = 10, validation: int = 4, test: int = 4
) -> Split:
    """Topic documents of each single label and of each pair of consecutive labels."""
    groups = [(label,) for label in labels] + [
        (first, second) for first, second in zip(labels, labels[1:], strict=False)
    ]

    def part(count: int, seed: int, prefix: str) -> list[Document]:
        return make_multilabel_documents(dict.fromkeys(groups, count), seed=seed, prefix=prefix)

    return Split(
        train=part(train, 1, "train"),
        validation=part(validation, 2, "val"),
        test=part(test, 3, "test"),
    )
