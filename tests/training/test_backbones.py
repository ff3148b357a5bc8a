"""Decoder LLMs as classifiers: LoRA adapters, and the traps of padding, pooling and saving."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from custom_classifier.inference.text_classifier import TextClassifier, cpu_has_bf16_units
from custom_classifier.training import backbones
from custom_classifier.training.arguments import TrainingArguments
from custom_classifier.training.trainer import FineTuneResult, fine_tune
from factories import make_topic_split

LABELS = ["sport", "finance"]
# Tiny random models need large steps to learn in a few epochs.
FAST = TrainingArguments(
    epochs=4,
    learning_rate=1e-2,
    lora_learning_rate=2e-2,
    batch_size=8,
    max_length=32,
    warmup_ratio=0.0,
    early_stopping_patience=4,
    export_onnx=False,
)
TEXTS = [
    "football goal match",
    "bank stock market",
    "team player coach",
    "inflation loan budget shares",
]


@pytest.fixture(scope="module")
def trained_decoder(
    tiny_decoder: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, FineTuneResult]:
    split = make_topic_split(LABELS, train=16, validation=6)
    result = fine_tune(str(tiny_decoder), split, LABELS, FAST, tmp_path_factory.mktemp("run"))
    return tiny_decoder, result


def test_decoders_and_encoders_are_told_apart(tiny_decoder: Path, tiny_base_model: Path) -> None:
    assert backbones.read_kind(str(tiny_decoder)) == "decoder"
    assert backbones.read_kind(str(tiny_base_model)) == "encoder"
    assert backbones.read_kind("/no/such/model") is None


def test_lora_by_default_for_decoders_only() -> None:
    args = TrainingArguments()
    assert backbones.uses_lora(args, "decoder") and not backbones.uses_lora(args, "encoder")
    assert backbones.uses_lora(replace(args, fine_tuning="lora"), "encoder")
    assert not backbones.uses_lora(replace(args, fine_tuning="full"), "decoder")


def test_a_tokenizer_without_pad_token_pads_with_eos_on_the_right(tiny_decoder: Path) -> None:
    from transformers import AutoTokenizer

    assert AutoTokenizer.from_pretrained(tiny_decoder).pad_token is None

    tokenizer, model = backbones.load_base_model(str(tiny_decoder), LABELS)

    assert tokenizer.pad_token == tokenizer.eos_token
    assert model.config.pad_token_id == tokenizer.eos_token_id
    assert tokenizer.padding_side == "right"


def test_a_padded_batch_pools_each_rows_last_real_token(tiny_decoder: Path) -> None:
    tokenizer, model = backbones.load_base_model(str(tiny_decoder), LABELS)
    model.eval()
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    assert (batch["attention_mask"] == 0).any()  # some rows are padded, on the right
    assert (batch["attention_mask"][:, 0] == 1).all()

    with torch.no_grad():
        together = model(**batch).logits
        alone = torch.cat([model(**tokenizer([t], return_tensors="pt")).logits for t in TEXTS])

    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-5)


def test_lora_adapts_every_linear_layer_and_trains_the_head(tiny_decoder: Path) -> None:
    _, model = backbones.load_base_model(str(tiny_decoder), LABELS)

    wrapped = backbones.add_lora_adapters(model, TrainingArguments())

    trainable = {n for n, p in wrapped.named_parameters() if p.requires_grad}
    adapted = {n.split(".lora_A")[0].rsplit(".", 1)[-1] for n in trainable if ".lora_A" in n}
    assert adapted == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    assert any("score" in n and "modules_to_save" in n for n in trainable)
    assert all(".lora_" in n or "score" in n for n in trainable)


def test_a_decoder_trains_lora_and_saves_a_plain_merged_model(trained_decoder) -> None:
    _, result = trained_decoder

    classifier = TextClassifier.load(result.model_dir, backend="torch")

    assert not (result.model_dir / "adapter_config.json").exists()  # a plain HF model
    assert json.loads((result.model_dir / "classifier.json").read_text())["kind"] == "decoder"
    assert result.history[-1]["val_macro_f1"] == 1.0
    assert [p["label"] for p in classifier.predict(TEXTS)] == [
        "sport",
        "finance",
        "sport",
        "finance",
    ]


def test_the_adapters_and_head_saved_beside_restore_the_same_model(
    trained_decoder, tmp_path: Path
) -> None:
    from peft import PeftModel

    base_model, result = trained_decoder
    assert result.adapter_dir is not None
    adapter_config = json.loads((result.adapter_dir / "adapter_config.json").read_text())
    assert adapter_config["task_type"] == "SEQ_CLS"
    assert "score" in adapter_config["modules_to_save"]
    named = json.loads((result.adapter_dir / backbones.BASE_MODEL_FILE).read_text())
    assert named == {"base_model": str(base_model)}

    tokenizer, fresh = backbones.load_base_model(str(base_model), LABELS)
    restored = PeftModel.from_pretrained(fresh, result.adapter_dir).eval()
    merged = TextClassifier.load(result.model_dir, backend="torch")
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = restored(**batch).logits
        served = merged.model(**batch).logits

    torch.testing.assert_close(served, expected, rtol=1e-4, atol=1e-4)


def test_the_best_epoch_is_restored_from_the_adapters_alone(tiny_llama: Path) -> None:
    _, model = backbones.load_base_model(str(tiny_llama), LABELS)
    model = backbones.add_lora_adapters(model, TrainingArguments())
    state = backbones.trainable_state(model)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)

    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.requires_grad:
                parameter.add_(1.0)
    backbones.restore_trainable_state(model, state)

    assert sum(v.numel() for v in state.values()) < frozen
    for name, parameter in model.named_parameters():
        if name in state:
            torch.testing.assert_close(parameter.detach(), state[name])


def test_long_documents_are_chunked_as_for_encoders(tiny_llama: Path, tmp_path: Path) -> None:
    args = replace(FAST, max_length=16, long_document_strategy="chunks", chunk_stride=4)
    split = make_topic_split(LABELS, train=12, validation=4, words=40)

    result = fine_tune(str(tiny_llama), split, LABELS, args, tmp_path)
    classifier = TextClassifier.load(result.model_dir, backend="torch")
    windows, doc_index = classifier.windows(["football goal match " * 20])

    assert len(windows) > 1 and set(doc_index) == {0}
    assert all(len(w) <= 16 for w in windows)
    assert classifier.predict(["football goal match " * 20])[0]["label"] == "sport"


def test_gradient_checkpointing_turns_on_when_activations_would_not_fit(tiny_llama: Path) -> None:
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(tiny_llama)
    needed = backbones.activation_bytes(config, batch_size=16, length=512, value_bytes=2)

    assert backbones.needs_gradient_checkpointing(config, 16, 512, value_bytes=2, free_bytes=needed)
    assert not backbones.needs_gradient_checkpointing(
        config, 16, 512, value_bytes=2, free_bytes=needed * 2
    )


def test_gradient_checkpointing_trains_the_same_model(tiny_llama: Path, tmp_path: Path) -> None:
    split = make_topic_split(LABELS, train=8, validation=4)
    args = replace(FAST, epochs=2, lora_dropout=0.0)

    plain = fine_tune(
        str(tiny_llama), split, LABELS, replace(args, gradient_checkpointing=False), tmp_path / "a"
    )
    recomputed = fine_tune(
        str(tiny_llama), split, LABELS, replace(args, gradient_checkpointing=True), tmp_path / "b"
    )

    losses = [[h["train_loss"] for h in r.history] for r in (plain, recomputed)]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4)


def test_frozen_weights_are_bf16_only_under_lora_on_a_bf16_gpu() -> None:
    assert backbones.frozen_weights_dtype(torch.device("cpu"), lora=True) == torch.float32
    if not (torch.cuda.is_available() and torch.cuda.is_bf16_supported()):
        pytest.skip("needs a CUDA GPU with bf16")
    assert backbones.frozen_weights_dtype(torch.device("cuda"), lora=True) == torch.bfloat16
    assert backbones.frozen_weights_dtype(torch.device("cuda"), lora=False) == torch.float32


def test_a_decoder_predicts_in_bf16_on_a_cpu_with_bf16_units(trained_decoder) -> None:
    _, result = trained_decoder

    classifier = TextClassifier.load(result.model_dir, device=torch.device("cpu"))
    reference = TextClassifier.load(result.model_dir, device=torch.device("cpu"), backend="torch")

    expected = "torch-bf16" if cpu_has_bf16_units() else "torch"
    assert classifier.backend == expected
    assert [p["label"] for p in classifier.predict(TEXTS)] == [
        p["label"] for p in reference.predict(TEXTS)
    ]


def test_an_encoder_can_train_lora_too(tiny_base_model: Path, tmp_path: Path) -> None:
    args = replace(FAST, fine_tuning="lora", epochs=8, lora_learning_rate=1e-2)
    split = make_topic_split(LABELS, train=16, validation=6, test=6)

    result = fine_tune(str(tiny_base_model), split, LABELS, args, tmp_path)

    assert result.adapter_dir is not None and (result.adapter_dir / "adapter_config.json").is_file()
    classifier = TextClassifier.load(result.model_dir, backend="torch")
    assert json.loads((result.model_dir / "classifier.json").read_text())["kind"] == "encoder"
    predicted = [p["label"] for p in classifier.predict([d.text for d in split.test])]
    assert predicted == [d.label for d in split.test]


def test_an_encoder_is_fully_fine_tuned_by_default(tiny_base_model: Path, tmp_path: Path) -> None:
    args = replace(FAST, epochs=1)

    result = fine_tune(str(tiny_base_model), make_topic_split(LABELS), LABELS, args, tmp_path)

    assert result.adapter_dir is None and not (tmp_path / backbones.ADAPTER_FOLDER).exists()


def test_a_decoder_keeps_its_int8_file_only_while_it_agrees_with_pytorch(
    tiny_llama: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custom_classifier.inference.text_classifier import ONNX_FILE
    from custom_classifier.training import onnx_export

    args = replace(FAST, epochs=2, export_onnx=True)
    result = fine_tune(str(tiny_llama), make_topic_split(LABELS), LABELS, args, tmp_path)
    windows, _ = TextClassifier.load(result.model_dir, backend="torch").windows(TEXTS * 10)

    assert (result.model_dir / ONNX_FILE).is_file()  # it agreed on the validation windows
    assert onnx_export.keep_if_faithful(result.model_dir, windows) == 1.0
    monkeypatch.setattr(onnx_export, "MIN_LABEL_AGREEMENT", 1.01)  # no file can meet this
    onnx_export.keep_if_faithful(result.model_dir, windows)

    assert not (result.model_dir / ONNX_FILE).exists()
    assert TextClassifier.load(result.model_dir).backend in ("torch", "torch-bf16")


def test_under_bf16_frozen_weights_the_trained_weights_stay_float32(tiny_llama: Path) -> None:
    _, model = backbones.load_base_model(str(tiny_llama), LABELS, dtype=torch.bfloat16)

    wrapped = backbones.add_lora_adapters(model, TrainingArguments())

    trained = {n: p.dtype for n, p in wrapped.named_parameters() if p.requires_grad}
    frozen = {
        p.dtype for n, p in wrapped.named_parameters() if "score" not in n and not p.requires_grad
    }
    assert set(trained.values()) == {torch.float32} and frozen == {torch.bfloat16}


def test_right_padding_needs_no_attention_mask_in_a_decoder(tiny_decoder: Path) -> None:
    """Why decoders train without a mask (`SpeedLevers.causal_without_mask`): causal attention
    never lets a real token see the pad tokens after it, and the head pools the last real one."""
    tokenizer, model = backbones.load_base_model(str(tiny_decoder), LABELS)
    model.eval()
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    assert (batch["attention_mask"] == 0).any()

    with torch.no_grad():
        masked = model(**batch).logits
        unmasked = model(input_ids=batch["input_ids"]).logits

    torch.testing.assert_close(unmasked, masked, rtol=1e-4, atol=1e-5)


def test_the_fused_rms_norm_computes_what_the_models_own_does(tiny_decoder: Path) -> None:
    from custom_classifier.training.step_graphs import SpeedLevers

    tokenizer, model = backbones.load_base_model(str(tiny_decoder), LABELS)
    model.eval()
    ids = tokenizer(TEXTS, padding=True, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        before = model(input_ids=ids).logits

    backbones.speed_up_for_gpu(model, SpeedLevers())
    with torch.no_grad():
        after = model(input_ids=ids).logits

    norms = [m for m in model.modules() if type(m).__name__.endswith("RMSNorm")]
    assert norms and all(type(m).forward is backbones.fused_rms_norm_forward for m in norms)
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-5)


def test_adapters_take_their_input_uncast_when_the_levers_say_so(tiny_llama: Path) -> None:
    from peft.tuners.tuners_utils import BaseTunerLayer

    from custom_classifier.training.step_graphs import SpeedLevers

    _, model = backbones.load_base_model(str(tiny_llama), LABELS)
    wrapped = backbones.add_lora_adapters(model, TrainingArguments())
    backbones.speed_up_for_gpu(wrapped, SpeedLevers(lora_input_casts=True, fused_rms_norm=False))
    layers = [m for m in wrapped.modules() if isinstance(m, BaseTunerLayer)]
    assert all(getattr(m, "cast_input_dtype_enabled", True) for m in layers)

    backbones.speed_up_for_gpu(wrapped, SpeedLevers())
    assert layers and not any(m.cast_input_dtype_enabled for m in layers)


def test_adapters_with_fused_scaling_and_addition_train_as_peft_s(tiny_decoder: Path) -> None:
    """`SpeedLevers.fused_adapter_additions`: the same outputs and gradients as PEFT's forward."""
    from custom_classifier.training.fused_adapters import fuse_adapter_additions

    tokenizer, model = backbones.load_base_model(str(tiny_decoder), LABELS)
    wrapped = backbones.add_lora_adapters(model, TrainingArguments(lora_dropout=0.0))
    with torch.no_grad():  # PEFT starts B at zero, which would hide a wrong scaling
        for name, parameter in wrapped.named_parameters():
            if "lora_B" in name:
                parameter.normal_(std=0.1)
    ids = tokenizer(TEXTS, padding=True, return_tensors="pt")["input_ids"]

    def logits_and_grads() -> tuple[torch.Tensor, list[torch.Tensor]]:
        wrapped.zero_grad(set_to_none=True)
        logits = wrapped(input_ids=ids).logits
        logits.square().sum().backward()
        trained = [p for p in wrapped.parameters() if p.requires_grad]
        return logits.detach(), [p.grad.clone() for p in trained if p.grad is not None]

    peft_logits, peft_grads = logits_and_grads()
    assert fuse_adapter_additions(wrapped) == 7 * wrapped.config.num_hidden_layers
    fused_logits, fused_grads = logits_and_grads()

    torch.testing.assert_close(fused_logits, peft_logits, rtol=1e-4, atol=1e-5)
    assert len(fused_grads) == len(peft_grads)
    for fused, expected in zip(fused_grads, peft_grads, strict=True):
        torch.testing.assert_close(fused, expected, rtol=1e-4, atol=1e-5)


def test_fused_adapters_leave_other_states_to_peft(tiny_llama: Path) -> None:
    """Disabled adapters (and merged ones) give the base model's outputs, as PEFT's do."""
    from custom_classifier.training.fused_adapters import fuse_adapter_additions

    tokenizer, model = backbones.load_base_model(str(tiny_llama), LABELS)
    wrapped = backbones.add_lora_adapters(model, TrainingArguments(lora_dropout=0.0))
    with torch.no_grad():
        for name, parameter in wrapped.named_parameters():
            if "lora_B" in name:
                parameter.normal_(std=0.1)
    ids = tokenizer(TEXTS, padding=True, return_tensors="pt")["input_ids"]
    fuse_adapter_additions(wrapped)
    with torch.no_grad():
        adapted = wrapped(input_ids=ids).logits
        with wrapped.disable_adapter():
            base = wrapped(input_ids=ids).logits
        merged = wrapped.merge_and_unload()(input_ids=ids).logits

    assert not torch.allclose(adapted, base, atol=1e-4)
    torch.testing.assert_close(merged, adapted, rtol=1e-4, atol=1e-5)
