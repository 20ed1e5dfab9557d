// The conversation as a person reads it: what they said (transcribed speech or typed text), what the model said
// (its transcript or text), notes from the page, and the tool-call log.

export function createTranscript(list, tools) {
  let user = null; // the user's spoken turn being transcribed
  let model = null; // the model's turn in progress

  function bubble(kind, text = '', label = '') {
    const li = document.createElement('li');
    li.className = kind;
    if (label) li.dataset.label = label;
    const body = document.createElement('p');
    body.textContent = text;
    li.append(body);
    return li;
  }

  function append(li, before = null) {
    const stick = list.scrollHeight - list.scrollTop - list.clientHeight < 48;
    list.insertBefore(li, before);
    // Follow the conversation unless the person scrolled up to read.
    if (stick) list.scrollTop = list.scrollHeight;
    list.dataset.empty = 'false';
    return li;
  }

  const textOf = (li) => li.querySelector('p');

  return {
    typed(text) {
      append(bubble('user typed', text, 'You'));
    },
    /** A piece of the user's speech transcription; it belongs before the reply it caused. */
    heard(text) {
      if (!user) {
        user = bubble('user voice streaming', '', 'You (voice)');
        append(user, model);
      }
      textOf(user).textContent += text;
    },
    said(text) {
      if (!model) model = append(bubble('model streaming', '', 'Gemini'));
      textOf(model).textContent += text;
    },
    interrupted() {
      model?.classList.add('interrupted');
    },
    /** The model's turn is over (complete or interrupted): the next pieces start new bubbles. */
    endTurn() {
      for (const li of [user, model]) li?.classList.remove('streaming');
      user = null;
      model = null;
    },
    note(text) {
      append(bubble('system', text));
    },
    clear() {
      user = null;
      model = null;
      list.replaceChildren();
      list.dataset.empty = 'true';
      tools.replaceChildren();
    },
    /** A function call card; returns a setter for its response (or its cancellation). */
    toolCall(call) {
      const li = document.createElement('li');
      li.className = 'tool-call pending';
      li.dataset.id = call.id ?? '';
      const head = document.createElement('p');
      head.className = 'tool-name';
      head.textContent = `${call.name}(${JSON.stringify(call.args ?? {})})`;
      const result = document.createElement('pre');
      result.className = 'tool-result';
      result.textContent = 'running…';
      li.append(head, result);
      tools.prepend(li);
      return {
        answered(response) {
          li.classList.replace('pending', 'answered');
          result.textContent = JSON.stringify(response);
        },
        cancelled() {
          li.classList.replace('pending', 'cancelled');
          li.classList.replace('answered', 'cancelled');
          result.textContent += '\n(cancelled by the model)';
        },
      };
    },
  };
}
