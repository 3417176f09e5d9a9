/**
 * What a transcript is, for every part of the service: the CXone clients produce it, the simulator
 * serves it, the pipeline passes it on and the rubric engine scores it. A type only, so any layer
 * may import it without depending on another's internals.
 */

/** One line of a transcript. `timestamp` may be ISO-8601, an offset such as `00:01:23.5`, or empty. */
export interface TranscriptLine {
  speaker: string;
  text: string;
  timestamp: string;
}
