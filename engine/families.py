"""Which family of task a dataset belongs to, for balanced meta-training and per-family reports.

A family is what a user would call "the same kind of problem" (sentiment, NLI, intent, ...).
Meta-training draws families evenly so that the few large ones do not dominate; the benchmark
report groups tasks by family so that a win on a family meta-training saw is not mistaken
for a general one. A dataset missing from the table is a family of its own.
"""

from __future__ import annotations

TASK_FAMILIES: dict[str, str] = {
    # meta_train
    "glue_sst2": "sentiment",
    "imdb": "sentiment",
    "yelp_review_stars": "sentiment",
    "yelp_sentence_polarity": "sentiment",
    "glue_mnli": "nli",
    "snli": "nli",
    "anli": "nli",
    "glue_rte": "nli",
    "glue_qnli": "nli",
    "glue_wnli": "nli",
    "glue_mrpc": "paraphrase",
    "glue_qqp": "paraphrase",
    "glue_cola": "acceptability",
    "ag_news": "topic",
    "dbpedia14": "topic",
    "yelp_business_category": "topic",
    "banking77": "intent",
    "clinc150": "intent",
    "hwu64": "intent",
    "snips": "intent",
    "trec6": "question type",
    "trec50": "question type",
    # dev_suite
    "mr": "sentiment",
    "mpqa": "sentiment",
    "sst5": "sentiment",
    "subj": "subjectivity",
    "sick_e": "nli",
    "stackoverflow": "topic",
    "tweeteval_irony": "irony",
    "wikigold_entity_type": "entity type",
    # dev_suite_2
    "sms_spam": "spam",
    "tweeteval_offensive": "offensive",
    "tweeteval_emotion": "emotion",
    "bbc_news": "topic",
    "clickbait_headlines": "clickbait",
    "bitext_support_intent": "intent",
    "stanford_politeness_se": "politeness",
}


def family_of(task: str) -> str:
    return TASK_FAMILIES.get(task, task)
