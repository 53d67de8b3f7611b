"""Facts as sentences, and the keyword queries a model would write for them, generated.

Each fact ties four word families together (a modifier, a subject noun, a verb, an object noun)
with a value only the fact holds (a bucket, a host, a path). Its query uses the same families in
other forms (singular for plural, past tense or -ing for the present), in another order, with a
question word, and never the value. No tuple of families shares more than two with another
fact, so a query names one fact only when most of its words are matched in their other forms.
Nothing here knows how the search works: the vocabulary is ordinary English with its regular
inflections, and sentences and queries come from fixed templates and a seeded random generator.
"""

from __future__ import annotations

import random
import re

MODIFIERS = ["nightly", "weekly", "hourly", "regional", "legacy", "internal", "primary", "mobile",
             "billing", "analytics", "partner", "archival", "sandbox", "customer", "vendor",
             "marketing", "payroll", "audit", "research", "support"]
# (singular, plural)
NOUNS = [("backup", "backups"), ("archive", "archives"), ("certificate", "certificates"),
         ("invoice", "invoices"), ("report", "reports"), ("snapshot", "snapshots"),
         ("webhook", "webhooks"), ("migration", "migrations"), ("container", "containers"),
         ("replica", "replicas"), ("bucket", "buckets"), ("ticket", "tickets"),
         ("payment", "payments"), ("signature", "signatures"), ("credential", "credentials"),
         ("template", "templates"), ("dashboard", "dashboards"), ("metric", "metrics"),
         ("alert", "alerts"), ("mirror", "mirrors"), ("partition", "partitions"),
         ("license", "licenses"), ("export", "exports"), ("receipt", "receipts"),
         ("thumbnail", "thumbnails"), ("checksum", "checksums"), ("manifest", "manifests"),
         ("newsletter", "newsletters"), ("transcript", "transcripts"), ("warehouse", "warehouses")]
# (base, third person, past, -ing)
VERBS = [("upload", "uploads", "uploaded", "uploading"), ("rotate", "rotates", "rotated", "rotating"),
         ("compress", "compresses", "compressed", "compressing"),
         ("encrypt", "encrypts", "encrypted", "encrypting"), ("verify", "verifies", "verified", "verifying"),
         ("sign", "signs", "signed", "signing"), ("publish", "publishes", "published", "publishing"),
         ("expire", "expires", "expired", "expiring"), ("renew", "renews", "renewed", "renewing"),
         ("purge", "purges", "purged", "purging"), ("replicate", "replicates", "replicated", "replicating"),
         ("validate", "validates", "validated", "validating"), ("notify", "notifies", "notified", "notifying"),
         ("migrate", "migrates", "migrated", "migrating"), ("restore", "restores", "restored", "restoring"),
         ("cache", "caches", "cached", "caching"), ("throttle", "throttles", "throttled", "throttling"),
         ("approve", "approves", "approved", "approving"), ("refresh", "refreshes", "refreshed", "refreshing"),
         ("collect", "collects", "collected", "collecting"), ("schedule", "schedules", "scheduled", "scheduling"),
         ("transfer", "transfers", "transferred", "transferring"), ("convert", "converts", "converted", "converting"),
         ("monitor", "monitors", "monitored", "monitoring"), ("forward", "forwards", "forwarded", "forwarding")]
QUESTION = ["where", "how", "which", "when", "what", "who"]
PLACES = ["s3://{w}-{n}", "{w}-{n}.internal", "/srv/{w}/{n}", "gs://{w}-{n}", "queue {w}-{n}",
          "host {w}{n}.corp", "the {w}-{n} cluster"]
VALUE_WORDS = ["orca", "pine", "slate", "coral", "birch", "flint", "maple", "cedar", "otter", "heron"]

# Fact sentences: m = modifier, s = subject noun, v = verb, o = object noun, x = value.
FACT_TEMPLATES = [
    "The {m} {s} job {v3} {o_pl} to {x}.",
    "{O_pl} from the {m} {s} service are {vpast} by {x}.",
    "Every {s} in the {m} pipeline {v3} its {o} through {x}.",
    "{X} is where the {m} {s} worker {v3} the {o_pl}.",
    "For the {m} {s_pl}, the team {vpast} all {o_pl} with {x}.",
]


def generate(count: int, seed: int = 11) -> list[dict]:
    """`count` facts: {"sentence", "query", "value"}, with unique values and distinct tuples."""
    rng = random.Random(seed)
    chosen: list[tuple[int, int, int, int]] = []
    facts: list[dict] = []
    while len(facts) < count:
        key = (rng.randrange(len(MODIFIERS)), rng.randrange(len(NOUNS)), rng.randrange(len(VERBS)),
               rng.randrange(len(NOUNS)))
        if key[1] == key[3] or any(sum(a == b for a, b in zip(key, k)) > 2 for k in chosen):
            continue
        chosen.append(key)
        facts.append(_fact(rng, key, len(facts)))
    return facts


def _fact(rng: random.Random, key: tuple[int, int, int, int], n: int) -> dict:
    m, (s, s_pl), verb, (o, o_pl) = MODIFIERS[key[0]], NOUNS[key[1]], VERBS[key[2]], NOUNS[key[3]]
    value = rng.choice(PLACES).format(w=rng.choice(VALUE_WORDS), n=1000 + n)
    template = rng.choice(FACT_TEMPLATES)
    sentence = template.format(m=m, s=s, s_pl=s_pl, o=o, o_pl=o_pl, O_pl=o_pl.capitalize(),
                               v3=verb[1], vpast=verb[2], x=value, X=value)
    used = set(re.findall(r"\w+", sentence.lower()))
    # Another form of each word where it has one: the query never repeats the sentence's form.
    subject = s if s_pl in used else s_pl
    obj = o if o_pl in used else o_pl
    action = rng.choice([f for f in verb if f not in used])
    words = [m, subject, action, obj]
    rng.shuffle(words)
    words.insert(rng.randrange(len(words) + 1), rng.choice(QUESTION))
    return {"sentence": sentence, "query": " ".join(words), "value": value}


if __name__ == "__main__":
    for fact in generate(12):
        print(f"{fact['query']!r:55} -> {fact['sentence']}")
