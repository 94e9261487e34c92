// The interviewer's picture: an SVG face whose mouth follows the level of the agent's audio as
// it plays (WebAudio), with an idle animation while listening and a thinking cue (CSS, driven
// by `data-state`). A video track published by the agent (an avatar service) replaces the
// drawing; the drawing comes back when the video goes away.

import { loudness, SILENCE_DB } from '../shared/level.js';

const MOUTH_MIN_RY = 2;
const MOUTH_MAX_RY = 9;

export class Avatar {
  /** @param {HTMLElement} root the `.avatar` element @param {HTMLVideoElement} video */
  constructor(root, video) {
    this.root = root;
    this.mouth = root.querySelector('#mouth');
    this.video = video;
    this.open = 0;
  }

  setState(state) {
    this.root.dataset.state = state;
  }

  /** Called every tick with the agent's current audio level (dBFS). */
  follow(db) {
    // Fast attack, quick release: the mouth closes within ~150 ms of silence.
    const target = db > SILENCE_DB ? 0.15 + 0.85 * loudness(db) : 0;
    this.open = Math.max(target, this.open * 0.5);
    if (this.open < 0.02) this.open = 0;
    const ry = MOUTH_MIN_RY + (MOUTH_MAX_RY - MOUTH_MIN_RY) * this.open;
    this.mouth.setAttribute('ry', ry.toFixed(1));
    this.mouth.dataset.open = this.open.toFixed(2);
  }

  /** Show a video avatar track instead of the drawing (null: back to the drawing). */
  showVideo(track) {
    if (track) {
      track.attach(this.video);
      this.video.hidden = false;
      this.root.hidden = true;
    } else {
      this.video.hidden = true;
      this.root.hidden = false;
    }
  }
}
