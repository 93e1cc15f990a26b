import { Ollama } from "ollama";
const ollama = new Ollama();
const completionPrompt = "def add(a, b):\n    return ";
await ollama.generate({ model: "codellama", prompt: completionPrompt });
