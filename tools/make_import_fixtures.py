"""Dev-only: checkpoints in the layouts Kestrel's importer reads, with the reference implementations' outputs.

  .venv-tools/bin/python tools/make_import_fixtures.py          tiny checkpoints + references (committed,
                                                                tests/fixtures/importer/)
  .venv-tools/bin/python tools/make_import_fixtures.py --full   full-size ViT-B/32 open_clip checkpoint for
                                                                the benchmark (tests/artifacts/importer/, gitignored)

Every parameter is randomised (LayerNorm weights, gates and the zero-initialised adapter up-projections
included: a freshly initialised HarMA model computes exactly the base CLIP, so parity on it would prove
nothing). References are the outputs of the reference implementations: open_clip's CLIP, transformers'
CLIPModel, and for HarMA open_clip's CLIP with the adapter forward written below from
../shared/docs/checkpoints.md. Captions are tokenised by open_clip (zero padding after the end token, so
HarMA's unmasked adapter attention sees the padding). Never a runtime or CI dependency.

The malicious fixtures are pickles that would run a command under Python's pickle.load (os.system via
__reduce__). This script only writes them; nothing here or in the tests ever loads them with pickle.
"""

import argparse
import io
import json
import os
import pickle
import sys
import types
import zipfile

import numpy as np
import open_clip
import torch
import torch.nn.functional as F
from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "tests", "fixtures", "importer")
CAPTIONS = [
    "a satellite image of an airport with two runways",
    "many green trees are around a playground .",
    "",
    "Dense residential area; houses & roads, 3 bridges!",
]
TINY = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 32, "head_width": 16, "patch_size": 16, "mlp_ratio": 2.0},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 4, "heads": 2, "layers": 2, "mlp_ratio": 2.0},
}
# HarMA's adapters are 128 wide (MMS 64) with 8 heads. harma-tiny.pt uses 32 (MMS 16) so the importer has
# to read the widths from the weights; harma-tiny-r128.pt has the released sizes (head widths 16 and 8).
HARMA_HEADS = 8


def randomise(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            last = name.rsplit(".", 2)
            is_norm = len(last) >= 2 and ("ln_" in last[-2] or "layer_norm" in last[-2] or "layrnorm" in last[-2] or "layernorm" in last[-2])
            if is_norm and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * noise)
            elif "logit" in name:
                continue
            elif name.endswith("gate1"):
                p.copy_(0.6 + 1.0 * noise)
            else:
                scale = 0.02 if p.dim() > 1 else 0.05
                if "embedding" in name and "patch" not in name and "token" not in name:
                    scale = 0.1
                if "img_proj" in name or ".l1." in name or ".l2." in name or "multihead" in name:
                    scale = 0.2
                p.copy_(scale * noise)
    model.eval()
    return model


def fp16_round(model):
    """Weights on the float16 grid, so a checkpoint saved as float16 holds exactly what the reference used."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())
    return model


def tiny_open_clip(quick_gelu, seed):
    torch.manual_seed(seed)
    model = CLIP(embed_dim=TINY["embed_dim"], vision_cfg=CLIPVisionCfg(**TINY["vision_cfg"]),
                 text_cfg=CLIPTextCfg(**TINY["text_cfg"]), quick_gelu=quick_gelu)
    return randomise(model, seed)


# ---- HarMA reference forward, written from ../shared/docs/checkpoints.md -------------------------------


class MMS(torch.nn.Module):
    def __init__(self, r):
        super().__init__()
        self.l1 = torch.nn.Linear(r, r // 2)
        self.multihead_attention1 = torch.nn.MultiheadAttention(r // 2, HARMA_HEADS, batch_first=True)
        self.gate1 = torch.nn.Parameter(torch.tensor(0.6))
        self.l2 = torch.nn.Linear(r // 2, r)

    def forward(self, w):
        p = self.l1(w)
        q = self.multihead_attention1(p, p, p, need_weights=False)[0]
        s = torch.sigmoid(self.gate1)
        return w + self.l2(s * q + (1 - s) * p)


class MGA(torch.nn.Module):
    def __init__(self, d, r, text):
        super().__init__()
        self.img_proj_down = torch.nn.Linear(d, r)
        self.multihead_attention = torch.nn.MultiheadAttention(r, HARMA_HEADS, batch_first=True)
        self.img_proj_up = torch.nn.Linear(r, d)
        self.gate1 = torch.nn.Parameter(torch.tensor(0.6))
        if text:
            self.BiShareAdapterxx = MMS(r)

    def forward(self, u):
        h = F.gelu(self.img_proj_down(u))  # exact GELU whatever the block activation
        a = self.multihead_attention(h, h, h, need_weights=False)[0]  # no mask: every token, padding too
        if hasattr(self, "BiShareAdapterxx"):
            a = self.BiShareAdapterxx(a)
        a = self.multihead_attention(a, a, a, need_weights=False)[0]
        s = torch.sigmoid(self.gate1)
        return u + self.img_proj_up(s * h + (1 - s) * a)


def harma_block_forward(self, q_x, k_x=None, v_x=None, attn_mask=None):
    x = q_x + self.ls_1(self.attention(q_x=self.ln_1(q_x), attn_mask=attn_mask))
    m = self.mlp(self.ln_2(x))
    g = torch.sigmoid(self.gate1)
    m = g * self.mmadapter(m) + (1 - g) * m
    return x + self.ls_2(m)


def add_harma_adapters(model, r):
    for blocks, text in [(model.visual.transformer.resblocks, False), (model.transformer.resblocks, True)]:
        for block in blocks:
            d = block.ln_1.weight.shape[0]
            block.gate1 = torch.nn.Parameter(torch.tensor(0.6))
            block.mmadapter = MGA(d, r, text)
            block.forward = types.MethodType(harma_block_forward, block)
    return model


class HarMA(torch.nn.Module):
    """The wrapper HarMA's checkpoints come from: the CLIP model as `model`, plus `temp`."""

    def __init__(self, clip):
        super().__init__()
        self.model = clip
        self.temp = torch.nn.Parameter(torch.tensor(0.07))


# ---- references ------------------------------------------------------------------------------------


def record(encode_image, encode_text, pixels, ids):
    with torch.no_grad():
        img = encode_image(pixels).float()
        txt = encode_text(ids).float()
    return {
        "image": {"raw": img.numpy().tolist(), "normalized": F.normalize(img, dim=-1).numpy().tolist()},
        "text": {"raw": txt.numpy().tolist(), "normalized": F.normalize(txt, dim=-1).numpy().tolist()},
    }


def open_clip_config(quick_gelu):
    return {**TINY, "quick_gelu": quick_gelu}


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f)
        f.write("\n")


def make_tiny():
    os.makedirs(FIX, exist_ok=True)
    tokenizer = open_clip.get_tokenizer("ViT-B-32")
    ids = tokenizer(CAPTIONS)
    g = torch.Generator().manual_seed(5)
    pixels = torch.randn(2, 3, 64, 64, generator=g)
    pixels.numpy().astype("<f4").tofile(os.path.join(FIX, "pixels-2x3x64x64.f32"))
    refs = {
        "generator": "tools/make_import_fixtures.py",
        "open_clip_torch": open_clip.__version__,
        "torch": torch.__version__,
        "captions": CAPTIONS,
        "inputIds": ids.numpy().tolist(),
        "pixels": "pixels-2x3x64x64.f32",
        "checkpoints": {},
    }
    write_json(os.path.join(FIX, "tiny-quickgelu.json"), open_clip_config(True))
    write_json(os.path.join(FIX, "tiny-gelu.json"), open_clip_config(False))

    # open_clip layout, QuickGELU, a plain state dict stored as float16 (like OpenAI's own .pt files).
    m = fp16_round(tiny_open_clip(True, 21))
    torch.save({k: v.half() for k, v in m.state_dict().items()}, os.path.join(FIX, "openclip-tiny-fp16.pt"))
    refs["checkpoints"]["openclip-tiny-fp16.pt"] = {
        "layout": "open_clip", "config": "tiny-quickgelu.json", "activation": "quick_gelu",
        **record(m.encode_image, m.encode_text, pixels, ids)}
    # The same weights in PyTorch's legacy (pre-1.6, non-zip) format.
    torch.save({k: v.half() for k, v in m.state_dict().items()}, os.path.join(FIX, "openclip-tiny-legacy.pt"),
               _use_new_zipfile_serialization=False)
    refs["checkpoints"]["openclip-tiny-legacy.pt"] = refs["checkpoints"]["openclip-tiny-fp16.pt"]

    # open_clip layout, exact GELU, nested: {"state_dict": {"module.…": …}, "epoch": …} (DDP training output).
    m = fp16_round(tiny_open_clip(False, 22))
    sd = {"module." + k: v.half() for k, v in m.state_dict().items()}
    torch.save({"epoch": 3, "name": "tiny", "state_dict": sd}, os.path.join(FIX, "openclip-tiny-gelu-nested.pt"))
    refs["checkpoints"]["openclip-tiny-gelu-nested.pt"] = {
        "layout": "open_clip", "config": "tiny-gelu.json", "activation": "gelu",
        **record(m.encode_image, m.encode_text, pixels, ids)}

    make_hf(refs, pixels, ids)
    make_harma(refs, pixels, ids)
    write_json(os.path.join(FIX, "references.json"), refs)
    make_malicious()
    make_with_metadata()
    total = sum(os.path.getsize(os.path.join(FIX, f)) for f in os.listdir(FIX))
    print(f"wrote {FIX} ({total / 1e6:.2f} MB)", file=sys.stderr)


def make_hf(refs, pixels, ids):
    from safetensors.torch import save_file
    from transformers import CLIPConfig, CLIPModel

    v, t = TINY["vision_cfg"], TINY["text_cfg"]
    config = CLIPConfig(
        text_config={"vocab_size": 49408, "hidden_size": t["width"], "intermediate_size": int(t["width"] * t["mlp_ratio"]),
                     "num_hidden_layers": t["layers"], "num_attention_heads": t["heads"], "max_position_embeddings": 77,
                     "hidden_act": "quick_gelu", "bos_token_id": 49406, "eos_token_id": 49407, "pad_token_id": 1},
        vision_config={"hidden_size": v["width"], "intermediate_size": int(v["width"] * v["mlp_ratio"]),
                       "num_hidden_layers": v["layers"], "num_attention_heads": v["width"] // v["head_width"],
                       "image_size": v["image_size"], "patch_size": v["patch_size"], "hidden_act": "quick_gelu"},
        projection_dim=TINY["embed_dim"],
    )
    torch.manual_seed(23)
    model = randomise(CLIPModel(config), 23)
    sd = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(sd, os.path.join(FIX, "hf-tiny.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(FIX, "hf-tiny.config.json"), "w") as f:
        f.write(config.to_json_string())

    def image(x):
        return model.get_image_features(pixel_values=x)

    def text(x):
        return model.get_text_features(input_ids=x, attention_mask=torch.ones_like(x))

    def tensor_of(out):
        return out if isinstance(out, torch.Tensor) else out.pooler_output

    refs["checkpoints"]["hf-tiny.safetensors"] = {
        "layout": "hf", "config": "hf-tiny.config.json", "activation": "quick_gelu",
        "transformers": __import__("transformers").__version__,
        **record(lambda x: tensor_of(image(x)), lambda x: tensor_of(text(x)), pixels, ids)}


def make_harma(refs, pixels, ids):
    for name, r, seed, half in [("harma-tiny.pt", 32, 24, False), ("harma-tiny-r128.pt", 128, 25, True)]:
        clip = tiny_open_clip(True, seed)
        wrapper = randomise(HarMA(add_harma_adapters(clip, r)), seed)
        if half:
            fp16_round(wrapper)  # stored as float16 to keep the fixture small; the reference uses the same values
        for pname, p in wrapper.named_parameters():
            if "img_proj_up" in pname or ".l2." in pname:
                assert p.abs().max() > 0, pname  # the adapters must not be vacuous
        sd = {k: (v.half() if half else v) for k, v in wrapper.state_dict().items()}
        torch.save({"model": sd, "epoch": 9, "config": {"embed_dim": 16}}, os.path.join(FIX, name))
        refs["checkpoints"][name] = {
            "layout": "harma", "config": "tiny-quickgelu.json", "activation": "quick_gelu",
            "adapter": {"width": r, "heads": HARMA_HEADS},
            **record(clip.encode_image, clip.encode_text, pixels, ids)}


class RunsCode:
    def __reduce__(self):
        return (os.system, ("touch /tmp/kestrel-malicious-pickle-ran",))


def make_with_metadata():
    """A training checkpoint that pickles objects beside the weights (argparse.Namespace, a numpy scalar):
    refused by default, readable with --skip-foreign-objects."""
    import argparse

    args = argparse.Namespace(model="ViT-B-32", lr=1e-4, epochs=10)
    weights = {"visual.proj": torch.arange(6, dtype=torch.float32).reshape(2, 3)}
    torch.save({"args": args, "best_score": np.float64(0.5), "state_dict": weights},
               os.path.join(FIX, "with-metadata.pt"))


def make_malicious():
    """A .pt-shaped zip whose data.pkl would run a command under torch.load(weights_only=False)."""
    payload = pickle.dumps({"visual.proj": RunsCode()}, protocol=2)
    assert b"system" in payload
    with zipfile.ZipFile(os.path.join(FIX, "malicious.pt"), "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", payload)
        z.writestr("archive/version", "3\n")
        z.writestr("archive/byteorder", "little")
    with open(os.path.join(FIX, "malicious-legacy.pt"), "wb") as f:
        f.write(payload)


def make_full():
    out = os.path.join(ROOT, "tests", "artifacts", "importer")
    os.makedirs(out, exist_ok=True)
    model = randomise(open_clip.create_model("ViT-B-32-quickgelu", pretrained=None), 32)
    path = os.path.join(out, "vit-b-32-random.pt")
    torch.save(model.state_dict(), path)
    g = torch.Generator().manual_seed(8)
    pixels = torch.randn(2, 3, 224, 224, generator=g)
    pixels.numpy().astype("<f4").tofile(os.path.join(out, "pixels-2x3x224x224.f32"))
    ids = open_clip.get_tokenizer("ViT-B-32")(CAPTIONS)
    write_json(os.path.join(out, "vit-b-32-random.references.json"), {
        "captions": CAPTIONS, "inputIds": ids.numpy().tolist(), "pixels": "pixels-2x3x224x224.f32",
        **record(model.encode_image, model.encode_text, pixels, ids)})
    print("wrote", path, os.path.getsize(path), file=sys.stderr)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", action="store_true", help="full-size ViT-B/32 checkpoint for the benchmark")
    args = ap.parse_args()
    make_full() if args.full else make_tiny()
