"""Instructions that Mukti's own jobs send to the LLM (the offline stub recognises them)."""

TITLE_PROMPT = (
    "Write a title of at most six words for this tutoring dialogue. Answer with the title only, "
    "without quotes or punctuation at the end."
)

FOLLOW_UP_PROMPT = (
    "The learner has not replied for {days} days. Ask one short question that helps them recall what they "
    "were examining and take the next step themselves. Do not summarise and do not answer for them."
)
