"""Shared fixtures: the real embedded MiniLM, loaded once, and a small real topic task."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing in the tests may reach for the network
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import settings  # noqa: E402

# Property-based tests: a bounded number of examples in CI; `--hypothesis-profile long` hunts.
settings.register_profile("ci", max_examples=150, deadline=None)
settings.register_profile("long", max_examples=5000, deadline=None)
settings.load_profile("ci")

TOPICS = {
    "sports": [
        "The striker scored twice in the final minutes",
        "Our team won the championship game last night",
        "The coach praised the goalkeeper after the match",
        "She ran the marathon in under three hours",
        "The tennis player served an ace to win the set",
        "Fans cheered as the batter hit a home run",
        "The league suspended two players for fighting",
        "He trains at the stadium every morning",
    ],
    "cooking": [
        "Simmer the tomato sauce for twenty minutes",
        "Whisk the eggs with sugar until fluffy",
        "Add a pinch of salt to the boiling pasta water",
        "Bake the bread at two hundred degrees",
        "Chop the onions and fry them in butter",
        "This recipe needs fresh basil and garlic",
        "Let the dough rest overnight in the fridge",
        "Grill the salmon with lemon and herbs",
    ],
    "finance": [
        "The central bank raised interest rates again",
        "Shares fell sharply after the earnings report",
        "Investors moved money into government bonds",
        "The company announced a quarterly dividend",
        "Inflation rose faster than economists expected",
        "She opened a savings account with a better rate",
        "The stock market closed at a record high",
        "Mortgage payments increased for many homeowners",
    ],
}
HELD_OUT = [
    ("The midfielder was injured during practice", "sports"),
    ("The referee showed a red card in the second half", "sports"),
    ("Our swimmer broke the national record", "sports"),
    ("The quarterback threw three touchdowns", "sports"),
    ("Stir in the cream and serve the soup warm", "cooking"),
    ("Roast the vegetables until they are golden", "cooking"),
    ("Knead the dough and sprinkle it with flour", "cooking"),
    ("Season the steak with pepper before frying", "cooking"),
    ("Bond yields dropped on Monday morning", "finance"),
    ("The bank reported higher quarterly profits", "finance"),
    ("The currency weakened against the dollar", "finance"),
    ("Analysts expect the company's revenue to grow", "finance"),
]

THINGS = [
    "this movie", "the pizza", "my new phone", "the weather", "that song", "the hotel",
    "this book", "the service", "our trip", "the coffee", "this game", "the concert",
    "my laptop", "the museum", "that show", "the garden",
]  # fmt: skip


def opinion_examples() -> tuple[list[str], list[str]]:
    """16 examples per class: enough for fit to set a quarter aside to choose its step count."""
    texts = [f"I loved {t}" for t in THINGS] + [f"I hated {t}" for t in THINGS]
    return texts, ["good"] * len(THINGS) + ["bad"] * len(THINGS)


@pytest.fixture(scope="session", autouse=True)
def isolated_data_dir(tmp_path_factory):
    """Keep user checkpoints, settings and autosaves of the tests out of the real data dir."""
    os.environ["FEWSHOT_DATA_DIR"] = str(tmp_path_factory.mktemp("user-data"))
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def backbone():
    from engine.backbone import load_backbone

    return load_backbone(device="cpu")


@pytest.fixture(scope="session")
def topic_examples():
    texts = [text for texts in TOPICS.values() for text in texts]
    labels = [label for label, texts in TOPICS.items() for _ in texts]
    return texts, labels


@pytest.fixture(scope="session")
def fitted_classifier(backbone, topic_examples):
    """A classifier trained once on the three topics; tests must not mutate it."""
    from engine.classifier import Classifier

    return Classifier(backbone, max_length=64).fit(*topic_examples)


TINY_CONFIGS = {
    "bert": ("BertConfig", "BertModel"),
    "roberta": ("RobertaConfig", "RobertaModel"),
    "distilbert": ("DistilBertConfig", "DistilBertModel"),
    "mpnet": ("MPNetConfig", "MPNetModel"),
    "electra": ("ElectraConfig", "ElectraModel"),
}


def make_tiny_backbone(model_type: str = "bert", *, seed: int = 0, dtype=torch.float32):
    """A real architecture with random weights, 2 layers of width 32: fast enough for gradchecks."""
    import transformers

    from engine.backbone import Backbone, Pooling, fingerprint_model, load_backbone  # noqa: F401

    config_name, model_name = TINY_CONFIGS[model_type]
    sizes = (
        dict(dim=32, n_layers=2, n_heads=2, hidden_dim=37)
        if model_type == "distilbert"
        else dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37)
    )
    config = getattr(transformers, config_name)(vocab_size=30522, **sizes)
    config._attn_implementation = "eager"
    torch.manual_seed(seed)
    model = getattr(transformers, model_name)(config).to(dtype).eval().requires_grad_(False)
    from transformers import AutoTokenizer

    from engine.backbone import default_backbone_dir

    tokenizer = AutoTokenizer.from_pretrained(default_backbone_dir())
    if model_type in ("distilbert", "roberta", "mpnet"):
        tokenizer.model_input_names = ["input_ids", "attention_mask"]
    return Backbone(
        name=f"tiny-{model_type}",
        model=model,
        tokenizer=tokenizer,
        fingerprint=fingerprint_model(model),
        pooling=Pooling.MEAN,
        model_dir=None,
    )


@pytest.fixture(scope="session")
def tiny_backbone():
    return make_tiny_backbone("bert")
