// A job's log in a panel that stays in view below either view, read on from where the last read ended until the
// job has ended and the log is read to its end. "Kill job" shows only while the job can still be killed.

import { api } from "./api.js";
import { FINAL, stateClass, stateLabel } from "./format.js";

const KEEP = 1 << 20; // characters kept on the page

export class LogViewer {
  constructor(panel) {
    this.panel = panel;
    this.title = panel.querySelector("#log-title");
    this.stateLabel = panel.querySelector("#log-state");
    this.text = panel.querySelector("#log-text");
    this.kill = panel.querySelector("#log-kill");
    this.empty = panel.querySelector("#log-empty");
    this.timer = null;
    this.session = 0;
    this.job = null;
    this.state = null;
  }

  open(runId, job) {
    this.close();
    const session = ++this.session;
    this.runId = runId;
    this.job = job;
    this.offset = 0;
    this.received = 0;
    this.title.textContent = `log of ${job}`;
    this.kill.disabled = false;
    this.kill.textContent = "Kill job";
    this.text.textContent = "";
    this.empty.textContent = "reading…";
    this.empty.hidden = false;
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
      if (session !== this.session) return;
      if (!this.received) {
        this.empty.textContent = final ? "the log is empty: the job wrote nothing" : "nothing written yet";
      }
      if (!final) this.timer = setTimeout(read, 500);
    };
    read();
  }

  showState(job) {
    this.state = job.state;
    const cls = `state badge ${stateClass(job.state)}`;
    if (this.stateLabel.className !== cls) this.stateLabel.className = cls;
    const label = stateLabel(job);
    if (this.stateLabel.textContent !== label) this.stateLabel.textContent = label;
    const ended = FINAL.has(job.state);
    if (this.kill.hidden !== ended) this.kill.hidden = ended;
  }

  // "Killing…" from the click until the service has answered.
  killing(promise) {
    const job = this.job;
    this.kill.disabled = true;
    this.kill.textContent = "Killing…";
    Promise.resolve(promise).finally(() => {
      if (this.job !== job) return;
      this.kill.disabled = false;
      this.kill.textContent = "Kill job";
    });
  }

  append(text) {
    this.received += text.length;
    this.empty.hidden = true;
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
