// Live captions from `lk.transcription` text streams (LiveKit's transcription contract): one
// entry per `lk.segment_id`, replaced by each newer stream of the same segment (our agent sends
// the whole text so far) or grown chunk by chunk (agents that stream deltas).
// `interview.word_times` (our agent, interim lines) is kept for whoever wants word timing.

const MAX_LINES = 200;

export class Captions {
  /**
   * @param {HTMLOListElement} list
   * @param {(info: {segment: string, participant: string, trackId: string}) => string} sideOf
   *   "you" or "interviewer" (or any class name) for a segment
   * @param {Record<string, string>} labels side -> visible speaker name
   */
  constructor(list, sideOf, labels) {
    this.list = list;
    this.sideOf = sideOf;
    this.labels = labels;
    this.items = new Map();
    /** Every update, for diagnostics: [ms since page load, side, words shown, final, segment]. */
    this.log = [];
  }

  /** The handler to give `room.registerTextStreamHandler('lk.transcription', ...)`. */
  handler() {
    return async (reader, participantInfo) => {
      const attrs = reader.info.attributes ?? {};
      const segment = attrs['lk.segment_id'] ?? reader.info.id;
      const info = {
        segment,
        participant: participantInfo.identity,
        trackId: attrs['lk.transcribed_track_id'] ?? '',
      };
      const final = attrs['lk.transcription_final'] === 'true';
      let text = '';
      try {
        for await (const chunk of reader) {
          text += chunk;
          this.show(info, text, false);
        }
      } catch (e) {
        console.warn('caption stream ended early', e);
      }
      this.show(info, text, final);
    };
  }

  show(info, text, final) {
    let item = this.items.get(info.segment);
    if (!item) {
      const side = this.sideOf(info);
      const li = document.createElement('li');
      li.className = side;
      const who = document.createElement('span');
      who.className = 'who';
      who.textContent = `${this.labels[side] ?? side}:`;
      const body = document.createElement('span');
      body.className = 'text';
      li.append(who, body);
      this.list.append(li);
      item = { li, body, side };
      this.items.set(info.segment, item);
      while (this.list.children.length > MAX_LINES) {
        const first = this.list.firstElementChild;
        for (const [k, v] of this.items) if (v.li === first) this.items.delete(k);
        first.remove();
      }
    }
    if (!text && !final) return;
    item.body.textContent = text;
    item.li.classList.toggle('interim', !final);
    item.li.dataset.final = String(final);
    const words = text.split(/\s+/).filter(Boolean).length;
    this.log.push([Math.round(performance.now()), item.side, words, final, info.segment]);
    if (this.log.length > 5000) this.log.shift();
    this.list.scrollTop = this.list.scrollHeight;
  }
}
