/**
 * Workflows of the API tests. `ask-only` has no agent (a human question, then an approval), so
 * sessions of it start, wait and finish without any model; agent runs use the ask-colour
 * fixture with its scripted model.
 */
export const ASK_ONLY = `
name: ask-only
description: Asks a person, then asks for an approval.
inputs:
  topic: { type: string, description: What to ask about }
  rounds: { type: number, default: 1 }
nodes:
  - id: ask
    kind: human
    prompt: "What about {{ inputs.topic }}?"
  - id: approve
    kind: approval
    dependsOn: [ask]
    prompt: "Ship {{ nodes.ask.output }}?"
`;

/** The same workflow with another prompt: a new version when registered again. */
export const ASK_ONLY_V2 = ASK_ONLY.replace('What about', 'And what about');
