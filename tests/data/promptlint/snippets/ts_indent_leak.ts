export function build(question: string) {
  const systemPrompt = `
    You are a careful assistant.
    Answer: ${question}
  `;
  return systemPrompt;
}
