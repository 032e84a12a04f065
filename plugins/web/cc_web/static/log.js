// A job's log, read on from where the last read ended until the job has ended and the log is read to its end.

import { api } from "./api.js";

const KEEP = 1 << 20; // characters kept on the page

export class LogViewer {
  constructor(panel) {
    this.panel = panel;
    this.title = panel.querySelector("#log-title");
    this.stateLabel = panel.querySelector("#log-state");
    this.text = panel.querySelector("#log-text");
    this.timer = null;
    this.session = 0;
  }

  open(runId, job) {
    this.close();
    const session = ++this.session;
    this.runId = runId;
    this.job = job;
    this.offset = 0;
    this.title.textContent = `log of ${job}`;
    this.text.textContent = "";
    this.panel.hidden = false;
    const read = async () => {
      if (session !== this.session) return;
      let final = false;
      try {
        for (;;) {
          const chunk = await api.log(runId, job, this.offset);
          if (session !== this.session) return;
          if (chunk.text) this.append(chunk.text);
          this.offset = chunk.next_offset;
          final = chunk.final;
          if (final || chunk.next_offset >= chunk.size) break;
        }
      } catch (error) {
        this.append(`\n[${error.message}]\n`);
        final = true;
      }
      if (!final && session === this.session) this.timer = setTimeout(read, 500);
    };
    read();
  }

  showState(state) {
    this.stateLabel.className = `state badge state-${state}`;
    this.stateLabel.textContent = state;
  }

  append(text) {
    const atBottom = this.text.scrollTop + this.text.clientHeight >= this.text.scrollHeight - 4;
    this.text.append(text);
    if (this.text.textContent.length > KEEP) this.text.textContent = this.text.textContent.slice(-KEEP);
    if (atBottom) this.text.scrollTop = this.text.scrollHeight;
  }

  close() {
    this.session++;
    clearTimeout(this.timer);
    this.panel.hidden = true;
    this.job = null;
  }
}
