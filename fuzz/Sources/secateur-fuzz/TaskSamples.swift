/// One or two hand-written records of each task's file format (the seeds of the `tasks`
/// harness; the field names are those the readers map, DESIGN.md §2).
enum TaskSamples {
    static let text: [String: String] = [
        "boolq": #"""
            {"question": "is the sky blue", "title": "Sky", "answer": true, "passage": "The sky is blue by day."}
            {"question": "do fish fly", "title": "Fish", "answer": false, "passage": "Fish swim."}

            """#,
        "hellaswag": """
            Cooking: A man is in a kitchen. he
            2
            sings a song.
            flies away.
            picks up a knife.
            eats the table.

            """,
        "winogrande": #"""
            {"qID": "1", "sentence": "The cup did not fit in the box because _ was too big.", "option1": "the cup", "option2": "the box", "answer": "1"}

            """#,
        "arc_easy": #"""
            {"id": "q1", "question": {"stem": "Which is a liquid?", "choices": [{"text": "ice", "label": "A"}, {"text": "water", "label": "B"}]}, "answerKey": "B"}

            """#,
        "arc_challenge": #"""
            {"id": "q2", "question": {"stem": "What do plants need?", "choices": [{"text": "light", "label": "1"}, {"text": "noise", "label": "2"}, {"text": "salt", "label": "3"}]}, "answerKey": "1"}

            """#,
        "openbookqa": #"""
            {"id": "7-980", "question": {"stem": "The sun is responsible for", "choices": [{"text": "puppies", "label": "A"}, {"text": "plants sprouting", "label": "B"}]}, "answerKey": " B"}

            """#,
        "piqa": #"""
            {"goal": "To open a jar", "sol1": "twist the lid", "sol2": "eat the lid"}
            {"goal": "Dry hair", "sol1": "use a towel", "sol2": "use water"}
            """# + "\u{0}--labels--\u{0}" + "0\n0\n",
        "rte": #"""
            {"premise": "Dogs bark.", "hypothesis": "Dogs make sounds.", "label": "entailment", "idx": 0}
            {"premise": "Cats sleep.", "hypothesis": "Cats fly.", "label": "not_entailment", "idx": 1}

            """#,
        "lambada_openai": #"""
            {"text": "He looked at the sky and saw the moon"}

            """#,
        "truthfulqa_mc1": #"""
            [{"question": "What is 2+2?", "mc1_targets": {"4": 1, "5": 0}, "mc2_targets": {"4": 1, "four": 1, "5": 0}}]
            """#,
        "truthfulqa_mc2": #"""
            [{"question": "Is water wet?", "mc1_targets": {"Yes": 1, "No": 0}, "mc2_targets": {"Yes": 1, "It is": 1, "No": 0}}]
            """#,
    ]
}
