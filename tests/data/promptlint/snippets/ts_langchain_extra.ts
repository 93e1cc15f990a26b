import { PromptTemplate } from "@langchain/core/prompts";
const prompt = PromptTemplate.fromTemplate("Describe {topic} briefly");
await prompt.format({ topic: "cats", tone: "dry" });
