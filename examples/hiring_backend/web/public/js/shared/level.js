// Audio level of a MediaStreamTrack through WebAudio (RMS in dBFS), for the microphone meter,
// the avatar's mouth and the page's diagnostics.

export const SILENCE_DB = -50;

export class LevelMeter {
  /** @param {AudioContext} ctx @param {MediaStreamTrack} track */
  constructor(ctx, track) {
    this.source = ctx.createMediaStreamSource(new MediaStream([track]));
    this.analyser = ctx.createAnalyser();
    this.analyser.fftSize = 1024;
    this.buffer = new Float32Array(this.analyser.fftSize);
    this.source.connect(this.analyser);
  }

  /** The current level in dBFS (-100 for digital silence). */
  db() {
    this.analyser.getFloatTimeDomainData(this.buffer);
    let sum = 0;
    for (const x of this.buffer) sum += x * x;
    const rms = Math.sqrt(sum / this.buffer.length);
    return rms > 0 ? Math.max(-100, 20 * Math.log10(rms)) : -100;
  }

  close() {
    this.source.disconnect();
  }
}

/** dBFS mapped to 0..1 between SILENCE_DB and -10 dBFS. */
export function loudness(db) {
  return Math.min(1, Math.max(0, (db - SILENCE_DB) / (SILENCE_DB * -1 - 10)));
}
