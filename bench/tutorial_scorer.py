"""The reference tutorial's scorer (compile_rubric / evaluate_transcript, verbatim algorithm).

usage: python3 bench/tutorial_scorer.py RUBRIC.json TRANSCRIPTS.jsonl
    Timed in-process: prints one JSON object, conversations per second (after a warm-up pass) and every
    conversation's scores.
usage: python3 bench/tutorial_scorer.py --score RUBRIC.json TRANSCRIPTS.jsonl > RESULTS.jsonl
    As a user runs it, timed from outside as a whole process: reads the JSON Lines, scores each
    conversation and writes one JSON line per conversation (its id, total score and every rule's
    score, weight, match and comment), the counterpart of `npm run score`.
"""
import json
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TranscriptLine:
    speaker: str
    text: str
    timestamp: str


@dataclass
class RubricRule:
    name: str
    pattern: str
    weight: float
    case_insensitive: bool = True
    score_if_present: float = 100.0
    score_if_absent: float = 0.0
    pass_comment: str = "Requirement met"
    fail_comment: str = "Requirement missing"


@dataclass
class EvaluationResult:
    total_score: float = 0.0
    rule_scores: dict[str, dict[str, Any]] = field(default_factory=dict)


def compile_rubric(rules_config: dict[str, dict[str, Any]]) -> dict[str, RubricRule]:
    compiled = {}
    for name, cfg in rules_config.items():
        compiled[name] = RubricRule(
            name=name,
            pattern=cfg["pattern"],
            weight=cfg["weight"],
            case_insensitive=cfg.get("case_insensitive", True),
            score_if_present=cfg.get("score_if_present", 100.0),
            score_if_absent=cfg.get("score_if_absent", 0.0),
            pass_comment=cfg.get("pass_comment", "Requirement met"),
            fail_comment=cfg.get("fail_comment", "Requirement missing"),
        )
    return compiled


def evaluate_transcript(transcript_lines: list[TranscriptLine], rules: dict[str, RubricRule]) -> EvaluationResult:
    full_text = " ".join(line.text for line in transcript_lines)
    result = EvaluationResult()
    weighted_total = 0.0
    total_weight = 0.0
    for rule_name, rule in rules.items():
        total_weight += rule.weight
        match_found = bool(re.search(rule.pattern, full_text, flags=re.IGNORECASE if rule.case_insensitive else 0))
        score = rule.score_if_present if match_found else rule.score_if_absent
        comment = rule.pass_comment if match_found else rule.fail_comment
        weighted_total += score * rule.weight
        result.rule_scores[rule_name] = {"score": score, "weight": rule.weight, "matched": match_found, "comment": comment}
    result.total_score = (weighted_total / total_weight) if total_weight > 0 else 0.0
    return result


def score_file(rubric_path: str, transcripts_path: str) -> None:
    with open(rubric_path) as f:
        rules = compile_rubric(json.load(f))
    out = sys.stdout
    with open(transcripts_path) as f:
        for line in f:
            if not line.strip():
                continue
            c = json.loads(line)
            lines = [TranscriptLine(l.get("speaker", "UNKNOWN"), l.get("text", ""), l.get("timestamp", "")) for l in c["transcript"]]
            r = evaluate_transcript(lines, rules)
            out.write(json.dumps({"id": c.get("id"), "total_score": r.total_score, "rule_scores": r.rule_scores}) + "\n")


def main() -> None:
    if sys.argv[1] == "--score":
        score_file(sys.argv[2], sys.argv[3])
        return
    with open(sys.argv[1]) as f:
        rules = compile_rubric(json.load(f))
    conversations = []
    with open(sys.argv[2]) as f:
        for line in f:
            if line.strip():
                c = json.loads(line)
                conversations.append((c["id"], [TranscriptLine(l.get("speaker", "UNKNOWN"), l.get("text", ""), l.get("timestamp", "")) for l in c["transcript"]]))
    results = [evaluate_transcript(t, rules) for _, t in conversations]  # warm-up
    scored = 0
    start = time.perf_counter()
    while True:
        for _, t in conversations:
            evaluate_transcript(t, rules)
        scored += len(conversations)
        elapsed = time.perf_counter() - start
        if elapsed >= 2.0:
            break
    print(json.dumps({
        "python": sys.version.split()[0],
        "conversations_per_second": scored / elapsed,
        "scores": [{"id": cid, "overall": r.total_score, "rules": {k: v["score"] for k, v in r.rule_scores.items()}}
                   for (cid, _), r in zip(conversations, results)],
    }))


if __name__ == "__main__":
    main()
