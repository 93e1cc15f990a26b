import { PromptTemplate } from "@langchain/core/prompts";
const prompt = PromptTemplate.fromTemplate("Describe {topic} as JSON like {\"name\": 1}");
await prompt.format({ topic: "cats" });
