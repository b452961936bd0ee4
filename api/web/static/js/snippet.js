// Search snippets: the API escapes the message text (&, <, >) and marks hits with <mark>.
// Only those two tags become elements; everything else is text, so a message that
// contains markup shows it as text and never runs it.

const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" };

function unescape(text) {
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (_, name) => ENTITIES[name]);
}

export function snippetNodes(snippet) {
  const fragment = document.createDocumentFragment();
  let marked = false;
  for (const part of snippet.split(/(<mark>|<\/mark>)/)) {
    if (part === "<mark>") marked = true;
    else if (part === "</mark>") marked = false;
    else if (part) {
      const text = document.createTextNode(unescape(part));
      if (marked) {
        const mark = document.createElement("mark");
        mark.append(text);
        fragment.append(mark);
      } else fragment.append(text);
    }
  }
  return fragment;
}
