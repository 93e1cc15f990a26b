import OpenAI from "openai";
const client = new OpenAI();
export async function ask(question) {
  return client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: `Answer: ${question}` }] });
}
